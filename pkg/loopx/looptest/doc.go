// Package looptest helps the tests of the server loops: a logger whose
// lines a test can count, and a loop runner that stops the loop at the end
// of the test and checks that it returned nil.
package looptest
