#!/usr/bin/env bash
# The lab end to end with an OpenRC site VM (Alpine-style init): the first-boot hook is an OpenRC service, and
# apply installs the reporter as an OpenRC service from Templates/. Everything else as test_lab_e2e.sh.
E2E_SITE_KIND=openrc exec bash "$(dirname "${BASH_SOURCE[0]}")/test_lab_e2e.sh" "$@"
