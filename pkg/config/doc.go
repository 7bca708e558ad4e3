// Package config reads the project file .rrr.yml: the settings of `rrr
// start` and `rrr local` that a project keeps beside its code, so that a
// developer types `rrr start` and CI `rrr start --wait`.
//
// The file is a YAML mapping from flag names (without "--"; "_" may stand
// for "-") to values, plus specs: a list of SPEC patterns used when the
// command line gives none. Flags win over RRR_* environment variables,
// which win over the file.
package config
