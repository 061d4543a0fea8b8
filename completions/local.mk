# completions: thin shell wrappers over the hidden `sbx __complete`,
# installed to --with-{bash,zsh,fish}-completion-dir.
bashcomp_DATA = %reldir%/sbx.bash
zshcomp_DATA = %reldir%/_sbx
fishcomp_DATA = %reldir%/sbx.fish
EXTRA_DIST += $(bashcomp_DATA) $(zshcomp_DATA) $(fishcomp_DATA)
