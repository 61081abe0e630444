package sftp

import (
	"encoding/binary"
	"net"
	"time"
)

// refuse tells a client refused at admission why, before any key
// exchange and without any cryptography: a line ahead of the version
// string (RFC 4253 section 4.2; OpenSSH shows it with -v only), the
// version string, then an SSH_MSG_DISCONNECT in the clear, which is what
// an SSH connection's first binary packet is before keys are agreed.
// OpenSSH prints it at its default log level: "Received disconnect from
// ADDR port PORT:2: ferry: your address is banned until ...".
//
// The cost of a refused client is bounded: one write of a few hundred
// bytes, then its own version string and key exchange offer read and
// dropped for at most refuseLinger, so that the close is a FIN the
// client sees after the packet, not a reset that loses it.
func refuse(nc net.Conn, err error) {
	nc.SetDeadline(time.Now().Add(refuseLinger))
	msg := "ferry: " + err.Error()
	if _, werr := nc.Write(refusal(msg)); werr != nil {
		nc.Close()
		return
	}
	if tc, ok := nc.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	go func() {
		defer nc.Close()
		var b [512]byte
		for {
			if _, err := nc.Read(b[:]); err != nil {
				return
			}
		}
	}()
}

// refuseLinger bounds how long a refused SSH client is read from.
const refuseLinger = time.Second

// disconnectRefused is the reason code of the refusal:
// SSH_DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT (RFC 4253 section 11.1).
const disconnectRefused = 1

// refusal is what refuse writes: the message as a pre-version line, the
// version string, and a cleartext disconnect packet carrying the message.
func refusal(msg string) []byte {
	if len(msg) > 400 {
		msg = msg[:400] // OpenSSH prints at most 400 characters of it
	}
	b := []byte(msg + "\r\n" + serverVersion + "\r\n")
	// The payload: byte SSH_MSG_DISCONNECT (1), uint32 reason code,
	// string description, string language tag.
	payload := []byte{1}
	payload = binary.BigEndian.AppendUint32(payload, disconnectRefused)
	payload = binary.BigEndian.AppendUint32(payload, uint32(len(msg)))
	payload = append(payload, msg...)
	payload = binary.BigEndian.AppendUint32(payload, 0)
	// RFC 4253 section 6: length, padding length, payload, at least four
	// bytes of padding, the whole a multiple of 8 (the block size of the
	// "none" cipher); no MAC before keys are agreed.
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(payload)+pad))
	b = append(b, byte(pad))
	b = append(b, payload...)
	return append(b, make([]byte, pad)...)
}

// serverVersion is the SSH identification string of the server.
const serverVersion = "SSH-2.0-ferry"
