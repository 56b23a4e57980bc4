"""The board's end of the protocol: numbered frames out, decoded frames in, answers to commands."""

import wire


class Link:
    def __init__(self, host_link):
        self._io = host_link
        self._seq = {}
        self._decoder = wire.StreamDecoder()

    def send(self, msg_type, fields=(), tail=None):
        seq = self._seq.get(msg_type, 0)
        self._seq[msg_type] = (seq + 1) & 0xFFFF
        # A frame the link cannot take is lost, but its seq is spent: the host counts it from the gap.
        self._io.write(wire.encode(msg_type, seq, fields, tail))

    def trusted(self):
        """Whether the host at the other end may move the instrument (see HostLink.trusted)."""
        return self._io.trusted()

    def ack(self, msg_type, seq, t_us):
        self.send(wire.ACK, wire.ordered(wire.ACK, {"command": msg_type, "command_seq": seq, "t_us": t_us}))

    def refuse(self, msg_type, seq, code, reason):
        """ERROR answers one command (`msg_type`, `seq`) the board did not carry out."""
        self.send(wire.ERROR, wire.ordered(wire.ERROR, {"command": msg_type, "command_seq": seq, "code": code}), reason)

    def alert(self, t_us, code, reason):
        """The board acted on its own (watchdog, e-stop button, engage time): ALERT, which answers no command."""
        self.send(wire.ALERT, wire.ordered(wire.ALERT, {"t_us": t_us, "code": code}), reason)

    def receive(self, data, handle):
        """Call handle(type, seq, payload) for every valid frame that `data` completes."""
        for msg_type, seq, payload in self._decoder.feed(data):
            handle(msg_type, seq, payload)

    async def serve(self, handle):
        """Forever: read from the host and handle every valid frame."""
        while True:
            self.receive(await self._io.read(), handle)
