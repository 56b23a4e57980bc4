"""The board's end of the protocol: numbered frames out, decoded frames in, answers to commands."""

import wire


class Link:
    def __init__(self, host_link):
        self._io = host_link
        self._seq = {}
        self._decoder = wire.StreamDecoder()
        self.dropped = 0  # frames the host link could not take

    def send(self, msg_type, fields=(), tail=None):
        seq = self._seq.get(msg_type, 0)
        self._seq[msg_type] = (seq + 1) & 0xFFFF
        if not self._io.write(wire.encode(msg_type, seq, fields, tail)):
            self.dropped += 1

    def ack(self, msg_type, seq, t_us):
        self.send(wire.ACK, (msg_type, seq, t_us))

    def refuse(self, msg_type, seq, code, reason):
        self.send(wire.ERROR, (msg_type, seq, code), reason)

    async def serve(self, handle):
        """Forever: read from the host and call handle(type, seq, payload) for every valid frame."""
        while True:
            for msg_type, seq, payload in self._decoder.feed(await self._io.read()):
                handle(msg_type, seq, payload)
