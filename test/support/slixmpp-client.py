#!/usr/bin/python3
# A third-party XMPP client for the integration tests: Debian's python3-slixmpp, no tlim code.
# Usage: slixmpp-client.py '<json>' with
#   {"jid": "carol@localhost/sx", "password": "pw", "host": "127.0.0.1", "port": 5222,
#    "subscribe": ["alice@tlim.localhost"],              # roster contacts to add (subscribe)
#    "send": [{"to": "alice@tlim.localhost", "body": "hi", "after_ms": 500}],
#    "duration_ms": 4000}
# Prints one JSON line per event: {"event": "online"}, {"event": "message", "from", "type",
# "id", "body", "json"} for every message received, {"event": "done"} at the end.
import asyncio
import json
import sys

import slixmpp

cfg = json.loads(sys.argv[1])


def emit(obj):
    print(json.dumps(obj), flush=True)


class Client(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(cfg["jid"], cfg["password"])
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.on_message)

    async def start(self, _event):
        self.send_presence()
        await self.get_roster()
        for contact in cfg.get("subscribe", []):
            self.send_presence_subscription(pto=contact)
        emit({"event": "online"})
        for item in cfg.get("send", []):
            await asyncio.sleep(item.get("after_ms", 0) / 1000)
            self.send_message(mto=item["to"], mbody=item["body"], mtype="chat")

    def on_message(self, msg):
        container = msg.xml.find("{urn:xmpp:json:0}json")
        emit({
            "event": "message",
            "from": str(msg["from"]),
            "type": msg["type"],
            "id": msg["id"],
            "body": msg["body"],
            "json": container.text if container is not None else None,
        })


client = Client()
# PLAIN over the test servers' unencrypted loopback listener (no TLS certificate there).
client["feature_mechanisms"].unencrypted_plain = True
client.connect(address=(cfg["host"], cfg["port"]), disable_starttls=True, force_starttls=False)


async def stop_later():
    await asyncio.sleep(cfg.get("duration_ms", 4000) / 1000)
    emit({"event": "done"})
    client.disconnect()


client.loop.create_task(stop_later())
client.process(forever=False)
