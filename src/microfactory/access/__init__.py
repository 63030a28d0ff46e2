"""Who may call what: roles, the principal behind a token, stored tokens (`spec/interfaces.md`,
"Roles and tokens")."""
