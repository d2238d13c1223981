"""A model's reply is bounded before anything parses it: at most `limit` bytes on the wire and
at most `limit` bytes after decompression, counted while the body is read.

An SDK reads a reply whole and hands it to a JSON parser; without a bound, a server (hostile,
broken, or a proxy in between) decides how much memory the process spends: a reply of 64 MiB,
or a gzip body of about 1 MB that inflates to 1 GiB. A response hook on the provider's HTTP
client swaps the body for one that counts and inflates itself (gzip or deflate, in steps no
larger than what is left of the limit), so a reply over the limit stops being read the moment
it crosses it and becomes `ReplyTooLargeError`, a provider error the session retries like
any garbled reply. The error is raised inside the SDK's read, so it is also made an instance of
the SDK's own error class (`sdk_error`): SDKs let their own errors through as they are, where
anything else would become a "connection error" and be retried by the SDK as well.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator

import httpx2

from mltrainer.agent.providers.base import MalformedReplyError, ReplyTooLargeError

# LLM replies are tens of kilobytes (a 64k-token answer is about 256 KB), so 4 MiB leaves a wide
# margin and keeps the largest reply's cost in memory near 100 MB (tests/agent/providers/
# test_reply_limit.py measures it).
DEFAULT_MAX_REPLY_BYTES = 4 * 1024 * 1024
LIMIT_VARIABLE = "MLTRAINER_MAX_REPLY_BYTES"
# Asked for explicitly, so an honest server never sends an encoding that is refused below.
ACCEPTED_ENCODINGS = "gzip, deflate"
_READ_ENCODINGS = ("gzip", "x-gzip", "deflate")


def bound_replies(
    client: httpx2.AsyncClient,
    *,
    limit: int,
    where: str,
    sdk_error: type[Exception] = Exception,
) -> httpx2.AsyncClient:
    """`client` with every response body bounded to `limit` bytes, on the wire and decoded;
    `where` names the server in errors ("the Anthropic API at https://..."), whose classes are
    also `sdk_error`."""
    if limit < 1:
        raise ValueError(f"the reply limit must be at least 1 byte, got {limit}")
    refuse = _Refusals(where, sdk_error)

    async def bound(response: httpx2.Response) -> None:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise refuse.too_large(f"declares {int(declared):,} bytes", limit)
        encodings = [
            value.strip().lower()
            for value in response.headers.get_list("content-encoding", split_commas=True)
            if value.strip().lower() != "identity"
        ]
        if len(encodings) > 1 or (encodings and encodings[0] not in _READ_ENCODINGS):
            raise refuse.malformed(
                f"a reply encoded as {', '.join(encodings)}; only gzip or deflate are read (the "
                f"request asked for {ACCEPTED_ENCODINGS})"
            )
        raw = response.stream
        assert isinstance(raw, httpx2.AsyncByteStream)  # an AsyncClient's response
        response.stream = BoundedBody(
            raw, encodings[0] if encodings else None, limit=limit, refuse=refuse
        )
        # The body now arrives decoded, so the client must not decode it again.
        if "content-encoding" in response.headers:
            del response.headers["content-encoding"]

    client.headers["accept-encoding"] = ACCEPTED_ENCODINGS
    client.event_hooks = {
        "request": client.event_hooks["request"],
        "response": [*client.event_hooks["response"], bound],
    }
    return client


class _Refusals:
    """The errors a bounded read raises, naming the server, as the SDK's error class too."""

    def __init__(self, where: str, sdk_error: type[Exception]) -> None:
        self.where = where
        self._too_large = _also(ReplyTooLargeError, sdk_error)
        self._malformed = _also(MalformedReplyError, sdk_error)

    def too_large(self, what: str, limit: int) -> MalformedReplyError:
        return self._too_large(
            f"{self.where} sent a reply that {what}; the limit is {limit:,} bytes, counted on "
            f"the wire and after decompression (raise it with {LIMIT_VARIABLE})"
        )

    def malformed(self, what: str) -> MalformedReplyError:
        return self._malformed(f"{self.where} sent {what}")


_COMBINED: dict[tuple[type[Exception], type[Exception]], type[MalformedReplyError]] = {}


def _also(
    error: type[MalformedReplyError], sdk_error: type[Exception]
) -> type[MalformedReplyError]:
    """`error`'s class that is also `sdk_error` (made once per pair)."""
    if issubclass(error, sdk_error):
        return error
    key = (error, sdk_error)
    if key not in _COMBINED:
        _COMBINED[key] = type(error.__name__, (error, sdk_error), {"__module__": __name__})
    return _COMBINED[key]


class BoundedBody(httpx2.AsyncByteStream):
    """A response body read through the limit: raw bytes counted as they arrive, then inflated
    (gzip or deflate) no further than what is left of the limit."""

    def __init__(
        self, raw: httpx2.AsyncByteStream, encoding: str | None, *, limit: int, refuse: _Refusals
    ) -> None:
        self._raw = raw
        self._inflater = _Inflater(encoding, refuse) if encoding else None
        self._limit = limit
        self._refuse = refuse

    async def __aiter__(self) -> AsyncIterator[bytes]:
        wire = produced = 0
        async for chunk in self._raw:
            wire += len(chunk)
            if wire > self._limit:
                raise self._refuse.too_large(
                    f"runs past {self._limit:,} bytes on the wire", self._limit
                )
            if self._inflater is None:
                produced = wire
                yield chunk
                continue
            for piece in self._inflater.inflate(chunk, self._limit - produced):
                produced += len(piece)
                if produced > self._limit:
                    raise self._refuse.too_large(
                        f"inflates past {self._limit:,} bytes from {wire:,} on the wire",
                        self._limit,
                    )
                yield piece

    async def aclose(self) -> None:
        await self._raw.aclose()


class _Inflater:
    """gzip or deflate, inflated in steps that never produce more than the room left."""

    def __init__(self, encoding: str, refuse: _Refusals) -> None:
        self._encoding = encoding
        self._refuse = refuse
        # deflate is meant to be zlib-wrapped, but some servers send it raw; like httpx, try
        # the wrapper first and fall back on the first chunk.
        wbits = zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(wbits)
        self._started = False

    def inflate(self, data: bytes, room: int) -> Iterator[bytes]:
        """`data` inflated, in pieces; together at most `room` + 1 bytes before the caller,
        seeing one byte past its room, stops asking."""
        while data:
            try:
                out = self._inflate.decompress(data, room + 1)
            except zlib.error as error:
                if self._encoding == "deflate" and not self._started:
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise self._refuse.malformed(
                    f"a body that does not inflate as {self._encoding} ({error})"
                ) from None
            self._started = True
            room -= len(out)
            data = self._inflate.unconsumed_tail
            yield out
