"""How fast does the sandbox's name server answer, and do weights hold? (A benchmark, not a test.)

Prints:

* the median time of one DNS query to the local name server over UDP
  (dnspython, a simple A record), of the same bytes sent on one open socket
  (without the client's own cost), and of the same question asked in process
  (``lab.route53.query``), the logic the server wraps;
* the median time of a query for a weighted record (the routing policy's cost);
* the share of answers each weighted record got over many queries, beside
  the share its weight configures (the goal: within 10% of it).

Run: ``.venv/bin/python bench/bench_route53.py [rounds]``
"""

from __future__ import annotations

import socket
import sys
from collections import Counter

import dns.message
import dns.query
from common import median_ms

import labkit


def main(rounds: int = 500) -> None:
    lab = labkit.start(reset=True)
    route53 = lab.client("route53")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="bench")["HostedZone"]["Id"]
    weights = {"192.0.2.1": 90, "192.0.2.2": 10}
    route53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": "shop.example.com", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "192.0.2.10"}]}},
        *({"Action": "UPSERT", "ResourceRecordSet": {"Name": "api.example.com", "Type": "A", "TTL": 60,
                                                     "SetIdentifier": ip, "Weight": weight,
                                                     "ResourceRecords": [{"Value": ip}]}}
          for ip, weight in weights.items()),
    ]})
    host, port = lab.route53.nameserver
    simple = dns.message.make_query("shop.example.com", "A")
    weighted = dns.message.make_query("api.example.com", "A")
    udp = median_ms(lambda: dns.query.udp(simple, host, port=port, timeout=2), rounds)
    wire = simple.to_wire()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)

        def raw_query() -> bytes:
            sock.sendto(wire, (host, port))
            return sock.recvfrom(65535)[0]

        raw = median_ms(raw_query, rounds)
    in_process = median_ms(lambda: lab.route53.query("shop.example.com"), rounds)
    udp_weighted = median_ms(lambda: dns.query.udp(weighted, host, port=port, timeout=2), rounds)

    queries = max(rounds * 4, 2000)
    lab.route53.seed(None)  # the plane's own randomness, unseeded: what a learner sees
    counts = Counter(dns.query.udp(weighted, host, port=port, timeout=2).answer[0][0].address for _ in range(queries))
    total = sum(weights.values())
    print(f"rounds per call: {rounds}")
    print(f"DNS query over UDP (simple A)        median {udp:6.3f} ms   (dnspython's dns.query.udp, as dig)")
    print(f"same bytes on one open UDP socket    median {raw:6.3f} ms   (the server's share)")
    print(f"same question in process             median {in_process:6.3f} ms")
    print(f"DNS query over UDP (weighted A)      median {udp_weighted:6.3f} ms")
    print(f"weighted answers over {queries} queries:")
    for ip, weight in weights.items():
        measured = counts[ip] / queries
        configured = weight / total
        print(f"  {ip}: measured {measured:6.2%}  configured {configured:6.2%}  "
              f"(off by {abs(measured - configured) / configured:5.1%} of the configured share; goal under 10%)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
