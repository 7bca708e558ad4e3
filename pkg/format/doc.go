// Package format reads the machine-readable report of a trial: it turns
// what a test tool wrote into passed/pending/failed counts and a capped
// list of test cases (model.Case), for the slave to store on the trial.
//
// # Formats
//
// The taskset's result_format is one of schema.Formats:
//
//   - exit-code: no report; the slave judges the trial by its exit code.
//   - junit: JUnit XML in the report file ({report}). Every <testcase>
//     is a case, at any depth under <testsuites> or a bare <testsuite>
//     (nested suites, pytest's and rspec_junit_formatter's flavours). A
//     <failure> or <error> child makes it failed, else a <skipped> child
//     pending (pytest's xfail is a skip), else it passed. The message is
//     the element's message attribute and text; the file is the case's
//     file attribute, else the nearest suite's. Bytes encoding/xml rejects
//     (invalid UTF-8, control characters such as ANSI colour escapes, and
//     character references to them) become U+FFFD; a non-UTF-8 declared
//     encoding is read as UTF-8 the same way. An XML syntax error (a
//     report cut short) makes the report unreadable.
//   - rspec-json: `rspec --format json`. Each example is a case by its
//     status (passed, failed, pending; skipped examples are pending);
//     name from full_description, file from file_path, message from the
//     exception (its class unless an RSpec expectation, its message, the
//     first backtrace line outside gems) or the pending message. Without
//     "examples" the summary's counts are used. When errors occurred
//     outside of examples (a spec file that does not load) one more
//     failed case, "errors outside of examples", carries rspec's messages.
//   - go-test-json: `go test -json` events. Tests that pass, fail or skip
//     are cases, subtests included. A test with subtests is not a case
//     itself, so a table test counts its rows, except when it fails and
//     none of its subtests did: then its own failure is a case. A failed
//     case's message is its output without the === and --- lines (the
//     last MaxMessage bytes). A test still running when its package ends
//     (the binary exited under it) or when the stream ends (killed) is
//     failed. A package that fails with no failed case (a build failure,
//     a crash in TestMain) is one failed case named after the package,
//     with the build output and the package's output as message. Lines
//     that are not events are ignored.
//   - tap: the Test Anything Protocol. "ok" is passed, "not ok" failed;
//     a SKIP or TODO directive makes either pending. Comment lines and a
//     YAML block after a failing, pending or todo line are its message.
//     Indented lines are skipped: a subtest counts once, by the summary
//     line its parent prints. "Bail out!" is a failed case and ends the
//     stream; a missing plan, or a plan that does not match the number of
//     tests, is one more failed case ("TAP plan"); "1..0 # SKIP why" is a
//     pending case. A bare "ok" (prove's verdict on a file) and other
//     lines (prove's header and summary) are ignored, so `prove -v` output
//     reads well.
//   - auto: Detect picks one of the above (see there).
//
// The report is the file the trial wrote at {report}. junit reads only it;
// rspec-json, go-test-json and tap read stdout when the report is blank.
// A named format whose input is blank or unreadable is an error wrapping
// ErrUnreadable that says which format and why; the tests did run, so the
// slave records the trial failed with that error.
//
// # Limits
//
// Parsing streams: a report of any size costs memory for at most
// 3*MaxCases cases, one test's capped text, and (junit, rspec-json) the
// largest single text node or example. Outcome.Cases holds failed cases
// first, then pending, then passed, at most MaxCases; names and messages
// are valid UTF-8 and at most MaxMessage bytes. Parse never panics on any
// input (FuzzParse).
package format
