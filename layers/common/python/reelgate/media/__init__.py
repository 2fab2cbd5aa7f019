"""Media tools on local files: the FFmpeg layer, probing, image → video and concatenation."""

from reelgate.media.concat import concatenate
from reelgate.media.image_video import render_image_video
from reelgate.media.probe import MediaInfo, probe
from reelgate.media.scratch import scratch_dir
from reelgate.media.tools import MediaError

__all__ = ["MediaError", "MediaInfo", "concatenate", "probe", "render_image_video", "scratch_dir"]
