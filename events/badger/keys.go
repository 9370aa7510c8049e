package badger

import "encoding/binary"

// Key prefixes; see the package documentation.
const (
	prefixEvent  = 'g'
	prefixStream = 's'
	prefixHead   = 'h'
	prefixKey    = 'k'
	keyGlobal    = "H"
)

func eventKey(g uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixEvent}, g)
}

func streamPrefix(stream string) []byte {
	k := make([]byte, 0, len(stream)+2+8)
	k = append(k, prefixStream)
	k = append(k, stream...)
	return append(k, 0)
}

func streamKey(stream string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(streamPrefix(stream), seq)
}

func headKey(stream string) []byte {
	return append([]byte{prefixHead}, stream...)
}

func idempotencyKey(stream, key string) []byte {
	k := make([]byte, 0, len(stream)+len(key)+2)
	k = append(k, prefixKey)
	k = append(k, stream...)
	k = append(k, 0)
	return append(k, key...)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
