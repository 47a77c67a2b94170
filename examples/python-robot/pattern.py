"""The moving test pattern robot.py streams and viewer.py measures.

The top part of each frame is a grid of big black and white blocks carrying the frame counter,
the wall-clock time the frame was made (milliseconds since the epoch) and a checksum; blocks of
a sixteenth of the width survive VP8 at any bitrate aiortc picks, so the viewer reads them back
from the decoded picture and measures glass-to-glass latency (both ends on one clock, or NTP).
The rest is a bar moving over a gradient, so the encoder always has motion to code.
"""

from __future__ import annotations

import asyncio
import fractions
import struct
import time
import zlib
from dataclasses import dataclass

import numpy
from aiortc.mediastreams import MediaStreamTrack
from av import VideoFrame

GRID_COLUMNS = 16
GRID_ROWS = 6  # 96 bits: 32 counter, 48 timestamp, 16 checksum
VIDEO_CLOCK_RATE = 90000


@dataclass(frozen=True)
class Stamp:
    """What a decoded frame carries."""

    counter: int
    timestamp_ms: int


def _bits(counter: int, timestamp_ms: int) -> numpy.ndarray:
    payload = struct.pack(">I", counter & 0xFFFFFFFF) + (timestamp_ms & 0xFFFFFFFFFFFF).to_bytes(6, "big")
    check = zlib.crc32(payload) & 0xFFFF
    data = payload + struct.pack(">H", check)
    return numpy.unpackbits(numpy.frombuffer(data, dtype=numpy.uint8))


def _block(width: int) -> int:
    return width // GRID_COLUMNS


def draw_stamp(image: numpy.ndarray, counter: int, timestamp_ms: int) -> None:
    """Writes the blocks into the top of an RGB image (height x width x 3, uint8) in place."""
    size = _block(image.shape[1])
    bits = _bits(counter, timestamp_ms).reshape(GRID_ROWS, GRID_COLUMNS)
    cells = numpy.kron(bits * 255, numpy.ones((size, size), dtype=numpy.uint8)).astype(numpy.uint8)
    image[: cells.shape[0], : cells.shape[1], :] = cells[:, :, None]


def read_stamp(luma: numpy.ndarray) -> Stamp | None:
    """Reads the blocks back from a decoded picture's luma plane; None when the checksum fails
    (a picture that is not the pattern, or one damaged beyond reading)."""
    size = _block(luma.shape[1])
    if size < 4 or luma.shape[0] < size * GRID_ROWS:
        return None
    # The middle half of each block: its edges blur under the codec.
    grid = luma[: size * GRID_ROWS, : size * GRID_COLUMNS].reshape(GRID_ROWS, size, GRID_COLUMNS, size)
    inner = grid[:, size // 4 : size - size // 4, :, size // 4 : size - size // 4]
    bits = (inner.mean(axis=(1, 3)) > 128).astype(numpy.uint8).reshape(-1)
    data = numpy.packbits(bits).tobytes()
    payload, check = data[:10], struct.unpack(">H", data[10:12])[0]
    if zlib.crc32(payload) & 0xFFFF != check:
        return None
    counter = struct.unpack(">I", payload[:4])[0]
    timestamp_ms = int.from_bytes(payload[4:10], "big")
    return Stamp(counter, timestamp_ms)


class PatternTrack(MediaStreamTrack):
    """A live video source: the pattern at a fixed rate, stamped with the time it is made.

    Paced on its own clock; when a consumer falls behind, frames are skipped instead of sent in a
    burst, so a stamp is always close to the time the frame leaves."""

    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0) -> None:
        super().__init__()
        if width < GRID_COLUMNS * 4 or height < _block(width) * GRID_ROWS + 16 or width % 2 or height % 2:
            raise ValueError(f"test pattern: {width}x{height} is too small or odd")
        self.width, self.height, self.fps = width, height, fps
        self._counter = 0
        self._next_at: float | None = None
        # A gradient twice as wide as the picture: each frame shows a window sliding over it.
        x = numpy.linspace(0, 4 * numpy.pi, 2 * width)
        gradient = numpy.stack(
            [(127 + 120 * numpy.sin(x + phase)).astype(numpy.uint8) for phase in (0.0, 2.1, 4.2)], axis=-1
        )
        self._gradient = numpy.broadcast_to(gradient, (height, 2 * width, 3))

    async def recv(self) -> VideoFrame:
        period = 1.0 / self.fps
        now = time.monotonic()
        if self._next_at is None or now - self._next_at > period:
            self._next_at = now
        else:
            await asyncio.sleep(max(0.0, self._next_at - now))
        self._next_at += period
        counter = self._counter
        self._counter += 1
        shift = (counter * 8) % self.width
        image = numpy.ascontiguousarray(self._gradient[:, shift : shift + self.width, :])
        bar = (counter * 12) % self.width
        image[:, bar : bar + 24, :] = 255
        draw_stamp(image, counter, int(time.time() * 1000))
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int(counter * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        return frame
