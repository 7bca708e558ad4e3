// Package junit writes the JUnit XML report of a taskset, for the test
// report views of CI systems: one <testsuite> per spec file with the test
// cases of its final trial, failed specs with their messages and output,
// flaky specs marked surefire-style (<flakyFailure>, and the suite property
// rrr.flaky=true), specs that never ran as skipped.
package junit
