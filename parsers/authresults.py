"""Authentication-Results fields (RFC 8601): parsed, and checked against the From domain.

`check_sender` says whether the receiving server vouched for the sender's domain
(DKIM, SPF or DMARC passing, aligned with the From domain). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from parsers.model import ParsedMessage
from parsers.text import clean_text

MAX_AUTH_RESULT_CHARS = 8 * 1024


@dataclass(frozen=True)
class AuthResult:
    """One result of an Authentication-Results field: `dkim=pass header.d=example.vn`."""

    method: str  # lower case, version dropped: dkim, spf, dmarc, ...
    result: str  # lower case: pass, fail, softfail, none, ...
    reason: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict)  # "header.d" -> "example.vn"

    def describe(self) -> str:
        props = " ".join(
            f"{k}={v}"
            for k, v in self.properties.items()
            if k in ("header.d", "header.i", "smtp.mailfrom", "header.from")
        )
        return f"{self.method}={self.result}" + (f" {props}" if props else "")


@dataclass(frozen=True)
class AuthenticationResults:
    """A parsed Authentication-Results field."""

    authserv_id: str  # lower case
    version: int | None
    results: tuple[AuthResult, ...]


def parse_authentication_results(value: str) -> AuthenticationResults | None:
    """Parse one Authentication-Results field value (RFC 8601); None when it has no authserv-id.

    Comments (nested, with quoted-pairs) are dropped, quoted strings unquoted, names
    and results lower-cased. Results that do not parse are skipped; never raises.
    """
    try:
        tokens = _ar_tokens(value[:MAX_AUTH_RESULT_CHARS])
    except Exception:  # a guard: the tokenizer is total, but this must never raise
        return None
    groups: list[list[tuple[str, str]]] = [[]]
    for tok in tokens:
        if tok == (";", ";"):
            groups.append([])
        else:
            groups[-1].append(tok)
    head = groups[0]
    if not head or head[0][0] not in ("word", "quoted") or not head[0][1].strip():
        return None
    authserv_id = head[0][1].strip().lower()
    version = (
        int(head[1][1]) if len(head) > 1 and head[1][0] == "word" and re.fullmatch(r"[0-9]{1,3}", head[1][1]) else None
    )
    results = []
    for group in groups[1:64]:
        result = _ar_result(group)
        if result is not None:
            results.append(result)
    return AuthenticationResults(authserv_id, version, tuple(results))


def _ar_tokens(text: str) -> list[tuple[str, str]]:
    """("word", w), ("quoted", s), ("=", "="), (";", ";") - comments and spaces dropped."""
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    word: list[str] = []

    def flush() -> None:
        if word:
            tokens.append(("word", "".join(word)))
            word.clear()

    while i < n:
        c = text[i]
        if c == "(":
            flush()
            depth = 0
            while i < n:
                c = text[i]
                if c == "\\":
                    i += 1
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
        elif c == '"':
            flush()
            i += 1
            buf = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            tokens.append(("quoted", "".join(buf)))
        elif c in ";=":
            flush()
            tokens.append((c, c))
        elif c.isspace():
            flush()
        else:
            word.append(c)
        i += 1
    flush()
    return tokens


_KEYWORD = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")  # RFC 8601 Keyword (an ldh-str)


def _ar_result(group: list[tuple[str, str]]) -> AuthResult | None:
    """`method[/version] = result [reason=...] [ptype.property=value ...]`, else None."""
    try:
        eq = group.index(("=", "="))
    except ValueError:
        return None  # "none" (no result) or garbage
    method = "".join(v for _, v in group[:eq]).split("/")[0].strip().lower()
    if not _KEYWORD.fullmatch(method) or eq + 1 >= len(group) or group[eq + 1][0] not in ("word", "quoted"):
        return None
    result = group[eq + 1][1].lower()
    if not _KEYWORD.fullmatch(result):
        return None
    reason = None
    props: dict[str, str] = {}
    rest = group[eq + 2 :]
    key: list[str] = []
    i = 0
    while i < len(rest):
        kind, value = rest[i]
        if kind == "=":
            if i + 1 < len(rest) and rest[i + 1][0] in ("word", "quoted"):
                name = "".join(key).lower()
                if name == "reason":
                    reason = rest[i + 1][1]
                elif "." in name and name not in props:
                    props[name] = rest[i + 1][1]
                i += 1
            key = []
        else:
            key.append(value)
        i += 1
    return AuthResult(method, result, reason, props)


@dataclass(frozen=True)
class SenderCheck:
    """Whether the receiving server vouched for the From domain, and if not, why."""

    verified: bool
    reason: str | None = None  # a reason code of templates/lang/*.toml [reasons] when not verified
    detail: str = ""


def check_sender(parsed: ParsedMessage, authserv_ids: Iterable[str]) -> SenderCheck:
    """Verified when the receiving server's Authentication-Results show DKIM, SPF or
    DMARC passing for a domain aligned with the From domain.

    Only fields whose authserv-id is one of `authserv_ids` are read, anyone can write
    the others; and of those only the topmost run (the ones the receiving server
    prepended last), so a field with that id that the sender wrote further down is
    not believed either. Alignment is relaxed (RFC 7489): the same domain, or one a
    subdomain of the other.
    """
    ids = {a.strip().lower() for a in authserv_ids if a.strip()}
    addresses = [a for a in parsed.from_addresses if a] or ([parsed.from_address] if parsed.from_address else [])
    # Verify the address the message was routed by, and only when it is the only one.
    if len(parsed.from_addresses) > 1 or addresses != [parsed.from_address]:
        shown = ", ".join(a or "?" for a in parsed.from_addresses[:5])
        return SenderCheck(False, "unverified_sender_ambiguous", shown)
    from_domain = _domain(addresses[0])
    trusted: list[AuthenticationResults] = []
    last_position = None
    for position, value in parsed.authentication_results:
        ar = parse_authentication_results(value)
        if ar is None or ar.authserv_id not in ids:
            if trusted:
                break
            continue
        if last_position is not None and position != last_position + 1:
            break
        trusted.append(ar)
        last_position = position
    if not trusted:
        return SenderCheck(False, "unverified_sender_no_results", ", ".join(sorted(ids)))
    seen: list[str] = []
    for ar in trusted:
        for r in ar.results:
            if r.method in ("dkim", "spf", "dmarc"):
                seen.append(r.describe())
            if r.result != "pass":
                continue
            if r.method == "dkim":
                signer = r.properties.get("header.d") or _domain(r.properties.get("header.i", ""))
                if _aligned(signer, from_domain):
                    return SenderCheck(True)
            elif r.method == "spf":
                if _aligned(_domain(r.properties.get("smtp.mailfrom", "")), from_domain):
                    return SenderCheck(True)
            elif r.method == "dmarc":
                if _norm_domain(r.properties.get("header.from", "")) == _norm_domain(from_domain):
                    return SenderCheck(True)
    detail = "; ".join(dict.fromkeys(seen)) or "none"
    return SenderCheck(False, "unverified_sender", clean_text(detail, 300))


def _domain(address: str) -> str:
    return _norm_domain(address.strip().strip("<>").rpartition("@")[2])


def _norm_domain(domain: str) -> str:
    d = domain.strip().strip("[]").rstrip(".").lower()
    if d and not d.isascii():
        try:
            d = d.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return d


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment without a public-suffix list: equal, or one under the other
    with at least two labels in the shorter (no one signs for a bare top-level domain)."""
    d, f = _norm_domain(domain), _norm_domain(from_domain)
    if not d or not f:
        return False
    if d == f:
        return True
    shorter, longer = (d, f) if len(d) < len(f) else (f, d)
    return "." in shorter and longer.endswith("." + shorter)
