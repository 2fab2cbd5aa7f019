"""The video toolkit: an NCA-compatible API over Reelgate's own FFmpeg pipeline."""
