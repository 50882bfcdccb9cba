#!/usr/bin/python3
# docker/test.sh's XMPP step: two users of the compose set-up log in on Prosody's published client
# port (STARTTLS, the certificate checked against the one Prosody's container made), the recipient
# announces itself to tlim (available presence to the component, docs/protocol.md "Devices"), the
# sender sends a tlim envelope (MTT-000, docs/protocol.md "The envelope") to <recipient>@<tlim>,
# the recipient must get it from <sender>@<tlim> and acknowledges it (XEP-0184), and the sender
# must get tlim's receipt (sent after the commit). Needs Debian's python3-slixmpp.
# Usage: xmpp-check.py '{"host","port","ca","domain","component","sender":[user,pw],
#                        "recipient":[user,pw],"msg_id","text","timeout_s"}'
# Prints one JSON line of what happened; exit status 0 only if everything above happened.
import asyncio
import json
import sys
import time

import slixmpp
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

cfg = json.loads(sys.argv[1])
RECEIPTS = "urn:xmpp:receipts"
result = {"sender_online": False, "recipient_online": False, "delivered": None, "sender_receipt": False}
done = asyncio.Event()


class User(slixmpp.ClientXMPP):
    def __init__(self, user, password, role):
        super().__init__(f"{user}@{cfg['domain']}/docker-test", password)
        self.role = role
        self.ca_certs = cfg["ca"]  # verify Prosody's certificate (name: the users' domain)
        self.online = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)  # only messages with a <body>
        self.register_handler(Callback("receipt", MatchXPath(f"{{jabber:client}}message/{{{RECEIPTS}}}received"), self.on_receipt))
        self.register_plugin("xep_0199")  # answer tlim's barrier pings
        self.add_event_handler("failed_auth", lambda _e: fail(f"{role}: authentication failed"))
        self.add_event_handler("connection_failed", lambda e: fail(f"{role}: connection failed: {e}"))

    async def on_start(self, _event):
        self.send_presence()
        if self.role == "recipient":
            self.send_presence(pto=cfg["component"])  # come online to tlim
        result[f"{self.role}_online"] = True
        self.online.set()

    def on_message(self, msg):
        if self.role == "recipient" and msg["type"] != "error" and msg["body"]:
            try:
                env = json.loads(msg["body"])
            except ValueError:
                return
            if env.get("msg_id") != cfg["msg_id"]:
                return
            result["delivered"] = {"from": str(msg["from"]), "id": msg["id"], "msg_type": env.get("msg_type"),
                                   "msg_from": env.get("msg_from"), "text": (env.get("body") or [{}])[0].get("text")}
            ack = self.make_message(mto=msg["from"], mtype="chat")
            ack.xml.append(ET.Element(f"{{{RECEIPTS}}}received", {"id": msg["id"]}))
            ack.send()
        elif self.role == "sender" and msg["type"] == "error":
            result["sender_error"] = str(msg)
            done.set()
        self.check_done()

    def on_receipt(self, msg):
        rec = msg.xml.find(f"{{{RECEIPTS}}}received")
        if self.role == "sender" and rec is not None and rec.get("id") == cfg["msg_id"]:
            result["sender_receipt"] = True
        self.check_done()

    @staticmethod
    def check_done():
        if result["delivered"] and result["sender_receipt"]:
            done.set()


def fail(reason):
    result.setdefault("error", reason)
    done.set()


async def main():
    sender = User(*cfg["sender"], "sender")
    recipient = User(*cfg["recipient"], "recipient")
    for c in (sender, recipient):
        c.connect(address=(cfg["host"], cfg["port"]), force_starttls=True, disable_starttls=False)
    try:
        await asyncio.wait_for(asyncio.gather(sender.online.wait(), recipient.online.wait()), cfg.get("timeout_s", 20))
    except asyncio.TimeoutError:
        fail("the users did not both log in")
    if not done.is_set():
        envelope = {"version": "2.1.0", "compress": "0", "encode": "0", "encrypt": "0",
                    "msg_id": cfg["msg_id"], "msg_type": "MTT-000",
                    "msg_from": cfg["sender"][0], "msg_to": cfg["recipient"][0],
                    "msg_time": str(int(time.time() * 1000)), "body": [{"text": cfg["text"]}]}
        await asyncio.sleep(0.5)  # let tlim see the recipient's presence first (either way it gets it)
        m = sender.make_message(mto=f"{cfg['recipient'][0]}@{cfg['component']}", mbody=json.dumps(envelope), mtype="chat")
        m["id"] = cfg["msg_id"]
        m.xml.append(ET.Element(f"{{{RECEIPTS}}}request"))
        m.send()
        try:
            await asyncio.wait_for(done.wait(), cfg.get("timeout_s", 20))
        except asyncio.TimeoutError:
            fail("timed out waiting for the delivery and the receipt")
    for c in (sender, recipient):
        c.disconnect()
    try:
        await asyncio.wait_for(asyncio.gather(sender.disconnected, recipient.disconnected), 5)
    except asyncio.TimeoutError:
        pass


asyncio.get_event_loop().run_until_complete(main())
ok = (result["delivered"] is not None and result["sender_receipt"] and "error" not in result
      and "sender_error" not in result)
print(json.dumps(result), flush=True)
sys.exit(0 if ok else 1)
