# Sourced by the scripts: what they share.

# need PACKAGE COMMAND... installs the Debian package when none of the
# commands is on PATH (with sudo when not root).
need() {
  local pkg=$1
  shift
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null && return 0
  done
  install_pkg "$pkg"
}

# need_ruby_lib PACKAGE LIB installs the Debian package when ruby cannot
# require LIB.
need_ruby_lib() {
  ruby -e "require '$2'" 2>/dev/null && return 0
  install_pkg "$1"
}

# install_pkg PACKAGE installs a Debian package (apt-get update once).
install_pkg() {
  echo "installing $1 ..." >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ -z "${_rrr_apt_updated:-}" ]; then
    $sudo apt-get update -qq
    _rrr_apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}

# need_path PACKAGE PATH installs the Debian package when PATH is missing
# (for libraries, which put no command on PATH).
need_path() {
  [ -e "$2" ] && return 0
  need "$1" "/nonexistent/$1"
}
