"""Media tools on local files: the FFmpeg layer, probing, image → video and concatenation."""

from reelgate.media.concat import concatenate
from reelgate.media.image_video import render_image_video
from reelgate.media.limits import InputRefused, Limits
from reelgate.media.probe import MediaInfo, probe
from reelgate.media.scratch import scratch_dir
from reelgate.media.tools import MediaError, MediaTimeout

__all__ = [
    "InputRefused", "Limits", "MediaError", "MediaInfo", "MediaTimeout", "concatenate", "probe",
    "render_image_video", "scratch_dir",
]
