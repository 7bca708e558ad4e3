package main

import (
	"testing"

	"github.com/rrr-dev/rrr/pkg/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }
