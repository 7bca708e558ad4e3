package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Default capture caps: the first 16 KiB and the last 48 KiB of a stream
// are kept; the start says what ran, the end says how it failed.
const (
	DefaultHead = 16 << 10
	DefaultTail = 48 << 10
)

// Output is the captured part of one output stream.
type Output struct {
	Head  []byte // the first bytes, up to the head cap
	Tail  []byte // the last bytes after Head, up to the tail cap
	Total int64  // bytes the stream carried in all
}

// Omitted is how many bytes between Head and Tail were not kept.
func (o Output) Omitted() int64 {
	return o.Total - int64(len(o.Head)) - int64(len(o.Tail))
}

// Bytes is the captured text, raw, with a marker line where bytes were
// omitted.
func (o Output) Bytes() []byte {
	if o.Omitted() <= 0 {
		return append(append([]byte{}, o.Head...), o.Tail...)
	}
	marker := fmt.Sprintf("\n[rrr: %d bytes omitted]\n", o.Omitted())
	b := make([]byte, 0, len(o.Head)+len(marker)+len(o.Tail))
	b = append(b, o.Head...)
	b = append(b, marker...)
	return append(b, o.Tail...)
}

// String is the captured text made safe for a Redis field and JSON: valid
// UTF-8 (see Sanitize).
func (o Output) String() string { return Sanitize(o.Bytes()) }

// Sanitize returns b as valid UTF-8: every invalid byte sequence becomes
// U+FFFD. The raw bytes stay in the output files.
func Sanitize(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// capture keeps the head and a rolling tail of a stream.
type capture struct {
	headCap, tailCap int
	head, tail       []byte
	total            int64
}

func newCapture(head, tail int) *capture {
	if head <= 0 {
		head = DefaultHead
	}
	if tail <= 0 {
		tail = DefaultTail
	}
	return &capture{headCap: head, tailCap: tail}
}

func (c *capture) write(p []byte) {
	c.total += int64(len(p))
	if room := c.headCap - len(c.head); room > 0 {
		n := min(room, len(p))
		c.head = append(c.head, p[:n]...)
		p = p[n:]
	}
	if len(p) == 0 {
		return
	}
	// The tail grows to twice its cap before it is cut back, so that the
	// copying costs O(1) per byte however the writes are sized.
	if len(p) >= c.tailCap {
		c.tail = append(c.tail[:0], p[len(p)-c.tailCap:]...)
		return
	}
	c.tail = append(c.tail, p...)
	if len(c.tail) > 2*c.tailCap {
		c.tail = append(c.tail[:0], c.tail[len(c.tail)-c.tailCap:]...)
	}
}

func (c *capture) output() Output {
	tail := c.tail
	if len(tail) > c.tailCap {
		tail = tail[len(tail)-c.tailCap:]
	}
	return Output{Head: c.head, Tail: append([]byte{}, tail...), Total: c.total}
}

// CaptureFile reads a file into an Output under the same caps as a
// stream of Run (head, tail; 0 means the defaults): for output that a
// process wrote to the file itself, such as a trial run by a persistent
// runner. A missing file is an empty Output and the error.
func CaptureFile(path string, head, tail int) (Output, error) {
	c := newCapture(head, tail)
	f, err := os.Open(path)
	if err != nil {
		return c.output(), err
	}
	defer f.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		c.write(buf[:n])
		if errors.Is(err, io.EOF) {
			return c.output(), nil
		}
		if err != nil {
			return c.output(), fmt.Errorf("read %s: %w", path, err)
		}
	}
}
