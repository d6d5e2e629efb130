"""A DNS name server on loopback, a thin front over :func:`.answers.answer`.

:func:`respond` turns one DNS message (bytes, as on the wire) into the reply
(bytes), with dnspython parsing and building the messages:

- a packet shorter than a DNS header, or itself a response, is dropped (no
  reply: there is nothing to answer to);
- a packet with a header but a body that does not parse gets ``FORMERR``, with
  the query's id, and the server keeps serving;
- an opcode other than QUERY gets ``NOTIMP``; a question count other than one
  ``FORMERR``; a class other than IN ``REFUSED``;
- otherwise the answer of the hosted zones, authoritative (``AA`` set), with
  the SOA in the authority section for negative answers. An EDNS Client
  Subnet option (RFC 7871) says where the client is (see :mod:`.geo`); it is
  echoed back. A reply too large for UDP is truncated (``TC``) so that the
  client asks again over TCP.

:class:`NameServer` serves it on 127.0.0.1, UDP and TCP on the same port.
Both are :class:`labkit.core.loopback.LoopbackServer` objects, so
``lab.reset()`` stops them and their threads end. In the browser edition the
server is in-process and dnspython's queries to it are answered by
:func:`serve_message`, the function both servers call (see :mod:`.browser`).
"""

from __future__ import annotations

import socket
import socketserver
import struct
from typing import Any

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from labkit.core.loopback import HOST, LoopbackServer
from labkit.services.route53 import answers, geo

#: The largest reply over UDP without EDNS (RFC 1035).
UDP_LIMIT = 512
#: The payload size this server advertises in its EDNS replies.
OUR_PAYLOAD = 1232


def _header_reply(data: bytes, rcode: int) -> bytes:
    """A reply built from the query's header alone (no question echoed)."""
    query_id = data[:2]
    flags = struct.unpack("!H", data[2:4])[0]
    opcode_bits = flags & 0x7800
    rd = flags & 0x0100
    reply_flags = 0x8000 | opcode_bits | rd | (int(rcode) & 0x0F)
    return query_id + struct.pack("!HHHHH", reply_flags, 0, 0, 0, 0)


def _formerr(data: bytes) -> bytes:
    """A FORMERR reply built from the query's header alone."""
    return _header_reply(data, dns.rcode.FORMERR)


def _client_of(query: dns.message.Message) -> tuple[geo.ClientLocation | None, dns.edns.ECSOption | None]:
    for option in query.options:
        if isinstance(option, dns.edns.ECSOption):
            placed = geo.locate_address(option.address)
            return placed, option
    return None, None


def _rrsets(records: list[answers.ResourceRecord]) -> list[dns.rrset.RRset]:
    """Group answer records by (name, type) into RRsets, in order."""
    out: list[dns.rrset.RRset] = []
    index: dict[tuple[str, str], dns.rrset.RRset] = {}
    for record in records:
        key = (record.name, record.type)
        rdtype = dns.rdatatype.from_text(record.type)
        try:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, _absolute(record), origin=dns.name.root,
                                        relativize=False)
        except (dns.exception.DNSException, ValueError):
            continue  # a value moto stored that is not valid for its type: leave it out
        rrset = index.get(key)
        if rrset is None:
            rrset = index[key] = dns.rrset.RRset(dns.name.from_text(record.name), dns.rdataclass.IN, rdtype)
            out.append(rrset)
        rrset.add(rdata, record.ttl)
    return out


def _absolute(record: answers.ResourceRecord) -> str:
    """Names inside values (CNAME, NS, MX targets) as Route 53 stores them are
    absolute whether or not they end in a dot."""
    value = record.value
    if record.type in ("CNAME", "NS", "PTR") and not value.endswith("."):
        return value + "."
    if record.type == "MX":
        parts = value.split()
        if len(parts) == 2 and not parts[1].endswith("."):
            return f"{parts[0]} {parts[1]}."
    return value


def respond(data: bytes, *, tcp: bool = False) -> bytes | None:
    """The reply to one DNS message (``None``: drop it)."""
    if len(data) < 12:
        return None
    if data[2] & 0x80:  # QR set: a response, not a query
        return None
    if (data[2] >> 3) & 0x0F != dns.opcode.QUERY:
        return _header_reply(data, dns.rcode.NOTIMP)
    try:
        query = dns.message.from_wire(data)
    except dns.message.ShortHeader:
        return None
    except Exception:  # noqa: BLE001  (any parse failure of a client's bytes is the client's FORMERR)
        return _formerr(data)
    if len(query.question) != 1:
        reply = dns.message.make_response(query)
        reply.set_rcode(dns.rcode.FORMERR)
        return reply.to_wire()
    question = query.question[0]
    reply = dns.message.make_response(query, our_payload=OUR_PAYLOAD)
    if question.rdclass != dns.rdataclass.IN:
        reply.set_rcode(dns.rcode.REFUSED)
        return reply.to_wire()
    placed, ecs = _client_of(query)
    if ecs is not None:
        reply.use_edns(0, 0, OUR_PAYLOAD, options=[
            dns.edns.ECSOption(ecs.address, ecs.srclen, ecs.srclen if placed else 0)])
    result = answers.answer(question.name.to_text(), dns.rdatatype.to_text(question.rdtype), client=placed)
    reply.set_rcode(dns.rcode.from_text(result.rcode))
    if result.rcode != "REFUSED":
        reply.flags |= dns.flags.AA
    reply.flags &= ~dns.flags.RA
    for rrset in _rrsets(result.records):
        reply.answer.append(rrset)
    for rrset in _rrsets(result.authority):
        reply.authority.append(rrset)
    limit = 65535 if tcp else (max(UDP_LIMIT, query.payload) if query.edns >= 0 else UDP_LIMIT)
    try:
        return reply.to_wire(max_size=limit)
    except dns.exception.TooBig:
        reply.answer.clear()
        reply.authority.clear()
        reply.flags |= dns.flags.TC
        return reply.to_wire()


def serve_message(data: bytes, *, tcp: bool = False) -> bytes | None:
    """What the server sends back for one message (``None``: nothing): the reply
    of :func:`respond`, or ``SERVFAIL`` when answering failed. The UDP and TCP
    servers call it for every message they read, and so does the browser
    edition's seam on dnspython (:mod:`.browser`): the same answers either way."""
    try:
        return respond(data, tcp=tcp)
    except Exception:  # noqa: BLE001  (one bad question never stops the server)
        return _servfail(data)


# --------------------------------------------------------------------------
# The servers
# --------------------------------------------------------------------------

class _UDPServer(socketserver.UDPServer):
    allow_reuse_address = False  # two UDP sockets on one port would share its packets


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        reply = serve_message(data)
        if reply is not None:
            try:
                sock.sendto(reply, self.client_address)
            except OSError:
                pass


def _servfail(data: bytes) -> bytes | None:
    return _header_reply(data, dns.rcode.SERVFAIL) if len(data) >= 12 else None


class _TCPHandler(socketserver.BaseRequestHandler):
    """DNS over TCP: each message is preceded by its length (two bytes)."""

    def setup(self) -> None:
        self.server.owner.track(self.request)  # type: ignore[attr-defined]

    def finish(self) -> None:
        self.server.owner.untrack(self.request)  # type: ignore[attr-defined]

    def _read(self, count: int) -> bytes | None:
        chunks = b""
        while len(chunks) < count:
            try:
                chunk = self.request.recv(count - len(chunks))
            except OSError:
                return None
            if not chunk:
                return None
            chunks += chunk
        return chunks

    def handle(self) -> None:
        self.request.settimeout(30)
        while True:
            prefix = self._read(2)
            if prefix is None:
                return
            data = self._read(struct.unpack("!H", prefix)[0])
            if data is None:
                return
            reply = serve_message(data, tcp=True)
            if reply is None:
                return  # nothing to answer: close, as a server does on garbage
            try:
                self.request.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return


class NameServer:
    """The sandbox's name server: UDP and TCP on one loopback port.

    In the browser edition it is one in-process server (a virtual port, no
    socket, no thread) that answers both transports: dnspython's queries to
    its address are answered by :func:`serve_message` (:mod:`.browser`)."""

    def __init__(self) -> None:
        udp = LoopbackServer(_UDPHandler, name="route53-dns-udp", server_class=_UDPServer)  # type: ignore[arg-type]
        if udp.in_process:
            self.udp = self.tcp = udp
            self.address = (HOST, udp.port)
            return
        try:
            tcp = LoopbackServer(_TCPHandler, port=udp.port, name="route53-dns-tcp")
        except OSError:
            udp.stop()
            raise
        self.udp, self.tcp = udp, tcp
        self.address: tuple[str, int] = (HOST, udp.port)

    @property
    def running(self) -> bool:
        return self.udp.running and self.tcp.running

    def stop(self) -> None:
        self.udp.stop()
        self.tcp.stop()


def start() -> NameServer:
    """Start a name server, retrying when another process holds the TCP port of the chosen UDP port."""
    last: OSError | None = None
    for _ in range(20):
        try:
            return NameServer()
        except OSError as error:
            last = error
    raise last or OSError("could not start the name server")


def query_socket(server: tuple[str, int], message: bytes, *, timeout: float = 2.0) -> bytes:
    """Send raw bytes to the server over UDP and return the reply (for tests and benches)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(message, server)
        data, _ = sock.recvfrom(65535)
        return data


def describe(reply: Any) -> str:
    """A dig-like one-line summary of a dnspython reply (for notebooks)."""
    rcode = dns.rcode.to_text(reply.rcode())
    lines = [f"{rrset.name} {rrset.ttl} {dns.rdatatype.to_text(rrset.rdtype)} {rd}" for rrset in reply.answer for rd in rrset]
    return f"{rcode}: " + ("; ".join(lines) if lines else "no answer")
