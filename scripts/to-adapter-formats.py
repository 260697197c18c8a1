#!/usr/bin/env python3
"""Writes a clean canonical CSV workload (from `callsift generate`) as an Asterisk
queue_log and as Amazon Connect contact trace records (NDJSON), the way those systems
would record the same calls. Used by scripts/bench-adapters.sh; the test suite has the
same conversion in Swift (Tests/CallSiftTests/AdapterConversionTests.swift).

    scripts/to-adapter-formats.py calls.csv queue_log ctr.ndjson [genesys.ndjson]

queue_log holds whole seconds and one centre (give --centre when analysing). In the CTR
file a blocked call is an inbound contact that the flow (or the network) disconnected
before any queue, which callsift counts as blocked under the service `(ivr)`; every fourth
call also has a snapshot of its first contact in progress (no DisconnectTimestamp). The
Genesys Cloud file holds one conversation detail record a line (analyse it with --centre);
every fifth call also has a snapshot in progress (no conversationEnd)."""
import csv, json, sys
from datetime import datetime, timezone

RANK = {"arrive": 0, "answer": 1, "transfer": 2, "abandon": 3, "blocked": 3, "end": 3}


def ms(ts):
    if ts.lstrip("-").isdigit():
        return int(ts)
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000 + 0.5)


def iso(t):
    return datetime.fromtimestamp(t / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t % 1000)


def genesys(cid, evs, n):
    """One conversation as a details job writes it, and its order key (conversationEnd)."""
    arrive, terminal = evs[0], evs[-1]
    queued = terminal[1] != "blocked"
    start = arrive[0] - 20000 if queued else arrive[0]
    end = terminal[0]
    answer = next((e[0] for e in evs if e[1] == "answer"), None)
    def seg(s, e, t, q=None):
        d = {"segmentStart": iso(s), "segmentEnd": iso(e), "segmentType": t}
        if q:
            d["queueId"] = q
        return d
    def part(purpose, name, segs, **session):
        return {"participantId": f"p-{purpose}", "participantName": name, "purpose": purpose,
                "sessions": [dict(mediaType="voice", direction="inbound", segments=segs,
                                  metrics=[{"name": "tSegment", "value": 1}], **session)]}
    customer = part("customer", "Caller", [seg(start, end, "interact")],
                    **({"ani": "tel:" + arrive[2]} if arrive[2] else {}))
    if not queued:
        customer["attributes"] = {"service": arrive[3]}
    parts = [customer, part("ivr", "Menu", [seg(start, arrive[0], "ivr")])]
    wrap = end
    if queued:
        visits = [(arrive[0], arrive[3])] + [(e[0], e[3]) for e in evs if e[1] == "transfer"]
        for i, (t, q) in enumerate(visits):
            leave = visits[i + 1][0] if i + 1 < len(visits) else (answer if answer is not None else end)
            parts.append(part("acd", q, [seg(t, max(leave, t), "interact", "id-" + q)]))
        if answer is not None:
            wrap = end + 45000
            parts.append(part("agent", "Agent", [seg(answer - 3000, answer, "alert"), seg(answer, end, "interact"),
                                                 seg(end, wrap, "wrapup")]))
    record = {"conversationId": "conv-" + cid, "conversationStart": iso(start), "conversationEnd": iso(wrap),
              "originatingDirection": "inbound", "divisionIds": ["d"], "participants": parts}
    out = [(wrap, json.dumps(record, separators=(",", ":")))]
    if n % 5 == 0:
        snapshot = dict(record, participants=parts[:3])
        del snapshot["conversationEnd"]
        out.append((arrive[0], json.dumps(snapshot, separators=(",", ":"))))
    return out


def main(src, qlog_path, ctr_path, genesys_path=None):
    calls = {}
    with open(src, newline="") as f:
        for row in csv.DictReader(f):
            calls.setdefault((row["centre"], row["call"]), []).append(
                (ms(row["ts"]), row["event"], row["caller"], row["service"]))
    qlines, records, conversations = [], [], []
    for n, ((centre, cid), evs) in enumerate(calls.items()):
        evs.sort(key=lambda e: (e[0], RANK[e[1]]))
        terminal = evs[-1][1]
        if genesys_path:
            for key, text in genesys(cid, evs, n):
                conversations.append((key, len(conversations), text))
        # queue_log
        queue, answered = evs[0][3], False
        def add(t, q, agent, rest):
            qlines.append((t // 1000, len(qlines), f"{t // 1000}|{cid}|{q}|{agent}|{rest}"))
        for t, kind, caller, service in evs:
            if kind == "arrive":
                add(t, queue, "NONE", "JOINEMPTY||" if terminal == "blocked" else f"ENTERQUEUE||{caller}|1")
            elif kind == "answer":
                add(t, queue, "PJSIP/201", "CONNECT|5|1.2|3"); answered = True
            elif kind == "transfer":
                add(t, queue, "PJSIP/201", "BLINDTRANSFER|600|from-queue|5|60|1" if answered else "EXITWITHKEY|9|1|1|30")
                queue = service
                add(t, queue, "NONE", "ENTERQUEUE||201|1")
                if answered:
                    add(t, queue, "PJSIP/301", "CONNECT|0|1.3|2")
            elif kind == "end":
                add(t, queue, "PJSIP/201", "COMPLETECALLER|5|60|1" if n % 2 == 0 else "COMPLETEAGENT|5|60|1")
            elif kind == "abandon":
                add(t, queue, "NONE", "ABANDON|1|1|30" if n % 2 == 0 else "EXITWITHTIMEOUT|1|1|30")
        # contact trace records: one per contact, a transfer starts the next
        def arn():
            return f"arn:aws:connect:eu-west-2:111122223333:instance/{centre}"
        if terminal == "blocked":
            r = {"AWSContactTraceRecordFormatVersion": "2017-03-10", "ContactId": cid, "Channel": "VOICE",
                 "InstanceARN": arn(), "InitiationMethod": "INBOUND", "InitiationTimestamp": iso(evs[0][0]),
                 "Queue": None, "Agent": None,
                 "DisconnectReason": "CONTACT_FLOW_DISCONNECT" if n % 2 == 0 else "TELECOM_PROBLEM",
                 "DisconnectTimestamp": iso(evs[-1][0]), "LastUpdateTimestamp": iso(evs[-1][0] + 30000)}
            if evs[0][2]:
                r["CustomerEndpoint"] = {"Address": evs[0][2], "Type": "TELEPHONE_NUMBER"}
            records.append((evs[-1][0] + 30000, len(records), json.dumps(r, separators=(",", ":"))))
            continue
        starts = [0] + [i for i, e in enumerate(evs) if e[1] == "transfer"]
        answer = next((e[0] for e in evs if e[1] == "answer"), None)
        if n % 4 == 0:
            update = (answer if answer is not None else evs[0][0]) + 1000
            r = {"AWSContactTraceRecordFormatVersion": "2017-03-10", "ContactId": cid, "Channel": "VOICE",
                 "InstanceARN": arn(), "InitiationMethod": "INBOUND", "InitiationTimestamp": iso(evs[0][0] - 5000),
                 "Queue": {"Name": evs[0][3], "EnqueueTimestamp": iso(evs[0][0]), "ARN": "arn:q"},
                 "Agent": {"ConnectedToAgentTimestamp": iso(answer), "Username": "agent"} if answer is not None else None,
                 "LastUpdateTimestamp": iso(update)}
            if evs[0][2]:
                r["CustomerEndpoint"] = {"Address": evs[0][2], "Type": "TELEPHONE_NUMBER"}
            records.append((update, len(records), json.dumps(r, separators=(",", ":"))))
        for k, s in enumerate(starts):
            cont = cid if k == 0 else f"{cid}-{k}"
            end_i = starts[k + 1] if k + 1 < len(starts) else len(evs) - 1
            start, disconnect = evs[s][0], evs[end_i][0]
            r = {"AWSContactTraceRecordFormatVersion": "2017-03-10", "ContactId": cont, "Channel": "VOICE",
                 "InstanceARN": arn()}
            if k == 0:
                r["InitiationMethod"] = "INBOUND"
                r["InitiationTimestamp"] = iso(start - 5000)
                if evs[0][2]:
                    r["CustomerEndpoint"] = {"Address": evs[0][2], "Type": "TELEPHONE_NUMBER"}
            else:
                r["InitiationMethod"] = "TRANSFER" if answer is not None and answer <= start else "QUEUE_TRANSFER"
                r["InitiationTimestamp"] = iso(start)
                r["InitialContactId"] = cid
                r["PreviousContactId"] = cid if k == 1 else f"{cid}-{k - 1}"
            if k + 1 < len(starts):
                r["NextContactId"] = f"{cid}-{k + 1}"
            r["Queue"] = {"Name": evs[s][3], "EnqueueTimestamp": iso(start), "ARN": "arn:q"}
            r["Agent"] = ({"ConnectedToAgentTimestamp": iso(max(answer, start)), "Username": "agent"}
                          if answer is not None and answer <= disconnect else None)
            update = disconnect + 30000 + 7000 * k
            r["DisconnectTimestamp"] = iso(disconnect)
            r["LastUpdateTimestamp"] = iso(update)
            r["Attributes"] = {"greeting": "standard"}
            records.append((update, len(records), json.dumps(r, separators=(",", ":"))))
    qlines.sort()
    with open(qlog_path, "w") as f:
        f.writelines(l + "\n" for _, _, l in qlines)
    records.sort()
    with open(ctr_path, "w") as f:
        f.writelines(l + "\n" for _, _, l in records)
    if genesys_path:
        conversations.sort()
        with open(genesys_path, "w") as f:
            f.writelines(l + "\n" for _, _, l in conversations)


if __name__ == "__main__":
    main(*sys.argv[1:5])
