# tests/cli: numbered TAP shell scripts run against the built sbx.
TESTS += \
	%reldir%/01-basics.t \
	%reldir%/02-doctor.t \
	%reldir%/03-sandbox-cli.t \
	%reldir%/73-snapshot-store.t \
	%reldir%/74-rig-harness.t \
	%reldir%/75-vmm-data-disk.t
EXTRA_DIST += %reldir%/lib.sh $(filter %reldir%/%.t,$(TESTS))
