"""Inspect decrypted media from memory with ffprobe (stdin) and PyAV."""

from __future__ import annotations

import io
import json
import subprocess
from dataclasses import dataclass

import av


@dataclass
class Probe:
    codecs: dict[str, str]  # codec_type -> codec_name
    end_s: dict[str, float]  # codec_type -> end of the last packet
    frames: dict[str, int]  # codec_type -> decoded frames
    width: int
    height: int


def ffprobe_streams(data: bytes) -> list[dict]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-i", "pipe:0"],
        input=data, capture_output=True, check=True,
    )
    return json.loads(result.stdout)["streams"]


def decode_all(data: bytes) -> Probe:
    """Decode every frame; the end of each stream from its packets."""
    codecs: dict[str, str] = {}
    end: dict[str, float] = {}
    frames: dict[str, int] = {}
    width = height = 0
    with av.open(io.BytesIO(data), "r") as container:
        for stream in container.streams:
            codecs[stream.type] = stream.codec_context.name
        for packet in container.demux():
            if packet.pts is None:
                continue
            kind = packet.stream.type
            tb = packet.time_base
            end[kind] = max(end.get(kind, 0.0), float((packet.pts + (packet.duration or 0)) * tb))
            for frame in packet.decode():
                frames[kind] = frames.get(kind, 0) + 1
                if kind == "video":
                    width, height = frame.width, frame.height
    return Probe(codecs, end, frames, width, height)
