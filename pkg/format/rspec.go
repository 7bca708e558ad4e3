package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rrr-dev/rrr/pkg/model"
	"github.com/rrr-dev/rrr/schema"
)

type rspecExample struct {
	ID              string  `json:"id"`
	Description     string  `json:"description"`
	FullDescription string  `json:"full_description"`
	Status          string  `json:"status"`
	FilePath        string  `json:"file_path"`
	RunTime         float64 `json:"run_time"`
	PendingMessage  string  `json:"pending_message"`
	Exception       *struct {
		Class     string   `json:"class"`
		Message   string   `json:"message"`
		Backtrace []string `json:"backtrace"`
	} `json:"exception"`
}

type rspecSummary struct {
	ExampleCount  int `json:"example_count"`
	FailureCount  int `json:"failure_count"`
	PendingCount  int `json:"pending_count"`
	ErrorsOutside int `json:"errors_outside_of_examples_count"`
}

// parseRSpec walks the document token by token and decodes one example at
// a time, so a large report is never held as a tree.
func parseRSpec(in []byte, split func(model.Case) *collector) (Outcome, error) {
	bad := func(err error) (Outcome, error) {
		return Outcome{}, fmt.Errorf("rspec-json: %w: %w (want the output of rspec --format json)", ErrUnreadable, err)
	}
	d := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(trimLeft(in), bom)))
	if err := expectDelim(d, '{'); err != nil {
		return bad(err)
	}
	var (
		c           collector
		sawExamples bool
		summary     *rspecSummary
		messages    capBuf
	)
	c.split = split
	for d.More() {
		key, err := d.Token()
		if err != nil {
			return bad(err)
		}
		switch key {
		case "examples":
			present, err := eachElement(d, func() error {
				var ex rspecExample
				if err := d.Decode(&ex); err != nil {
					return err
				}
				c.add(ex.toCase())
				return nil
			})
			if err != nil {
				return bad(fmt.Errorf("examples: %w", err))
			}
			sawExamples = sawExamples || present
		case "summary":
			if err := d.Decode(&summary); err != nil {
				return bad(fmt.Errorf("summary: %w", err))
			}
		case "messages":
			if _, err := eachElement(d, func() error {
				var m string
				if err := d.Decode(&m); err != nil {
					return err
				}
				messages.add([]byte(strings.TrimSpace(m) + "\n\n"))
				return nil
			}); err != nil {
				return bad(fmt.Errorf("messages: %w", err))
			}
		default:
			var skip json.RawMessage
			if err := d.Decode(&skip); err != nil {
				return bad(err)
			}
		}
	}
	if err := expectDelim(d, '}'); err != nil {
		return bad(err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return bad(errors.New("more data after the JSON document"))
	}
	if !sawExamples && summary == nil {
		return bad(errors.New(`the JSON object has neither "examples" nor "summary"`))
	}
	o := c.outcome(schema.FormatRSpecJSON)
	if !sawExamples {
		o.Failed = max(summary.FailureCount, 0)
		o.Pending = max(summary.PendingCount, 0)
		o.Passed = max(summary.ExampleCount-o.Failed-o.Pending, 0)
	}
	if summary != nil && summary.ErrorsOutside > 0 {
		// A spec file that does not load has no examples: without this case
		// its trial would look empty instead of failed.
		msg := strings.TrimSpace(messages.String())
		if msg == "" {
			msg = fmt.Sprintf("%d error(s) occurred outside of examples", summary.ErrorsOutside)
		}
		k := model.Case{Name: "errors outside of examples", Status: schema.StatusFailed, Message: capHead(msg)}
		o.Failed++
		o.Cases = append([]model.Case{k}, o.Cases...)
		if len(o.Cases) > MaxCases {
			o.Cases = o.Cases[:MaxCases]
		}
	}
	return o, nil
}

func (ex rspecExample) toCase() model.Case {
	k := model.Case{ID: ex.ID, Name: ex.FullDescription, File: ex.FilePath, TimeSec: ex.RunTime}
	if k.Name == "" {
		k.Name = ex.Description
	}
	if k.Name == "" {
		k.Name = ex.ID
	}
	switch ex.Status {
	case "passed":
		k.Status = schema.StatusPassed
	case "pending":
		k.Status = schema.StatusPending
		k.Message = ex.PendingMessage
	case "failed":
		k.Status = schema.StatusFailed
		if e := ex.Exception; e != nil {
			k.Message = strings.TrimSpace(e.Message)
			if !strings.HasPrefix(e.Class, "RSpec::Expectations::") && e.Class != "" {
				k.Message = e.Class + ": " + k.Message
			}
			if f := projectFrame(e.Backtrace); f != "" {
				k.Message += "\n# " + f
			}
		}
	default:
		k.Status = schema.StatusFailed
		k.Message = fmt.Sprintf("unknown example status %q", ex.Status)
	}
	return k
}

// projectFrame is the first backtrace line outside installed gems and Ruby
// itself: usually the line of the spec that failed.
func projectFrame(bt []string) string {
	for _, f := range bt {
		if !strings.Contains(f, "/gems/") && !strings.Contains(f, "/rubygems") &&
			!strings.Contains(f, "/lib/ruby/") && !strings.HasPrefix(f, "/usr/bin/") {
			return f
		}
	}
	return ""
}

func expectDelim(d *json.Decoder, want json.Delim) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %v where %q was expected", tok, want)
	}
	return nil
}

// eachElement calls fn for each element of the array that comes next; fn
// must decode exactly one value. present is false for null.
func eachElement(d *json.Decoder, fn func() error) (present bool, err error) {
	tok, err := d.Token()
	if err != nil || tok == nil {
		return false, err
	}
	if tok != json.Delim('[') {
		return false, fmt.Errorf("got %v where an array was expected", tok)
	}
	for d.More() {
		if err := fn(); err != nil {
			return false, err
		}
	}
	return true, expectDelim(d, ']')
}

// hasExamples reports whether b opens a JSON object with an "examples" key
// at its top level; it reads no further than that key.
func hasExamples(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	if expectDelim(d, '{') != nil {
		return false
	}
	for d.More() {
		key, err := d.Token()
		if err != nil {
			return false
		}
		if key == "examples" {
			return true
		}
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// isRSpecDocument reports whether b is exactly one RSpec JSON document.
func isRSpecDocument(b []byte) bool {
	return json.Valid(b) && hasExamples(b)
}
