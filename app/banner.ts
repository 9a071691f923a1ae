// The start-up banner: plain text for the person who ran `npm start`, not a log line. It says where to
// point an MCP client, where the panel is, where the data lives and, once, the generated admin password.

export type BannerFacts = {
  version: string;
  publicUrl: string;
  listen: string;
  storage: string;
  events: string;
  admin?: { email: string; generatedPassword: string | undefined } | undefined;
  warnings: readonly string[];
};

const row = (label: string, value: string) => `  ${label.padEnd(13)}${value}`;

export const banner = (facts: BannerFacts): string => {
  const lines = [
    '',
    `  RemoteMCP ready — version ${facts.version}`,
    '',
    row('MCP URL', `${facts.publicUrl}/mcp   ← add this URL to your MCP client`),
    row('Admin panel', `${facts.publicUrl}/admin`),
    row('Home page', `${facts.publicUrl}/`),
    row('Data', facts.storage),
    row('Event log', facts.events),
    row('Listening on', facts.listen),
  ];
  if (facts.admin) {
    lines.push('', row('First admin', facts.admin.email));
    if (facts.admin.generatedPassword)
      lines.push(
        row('Password', facts.admin.generatedPassword),
        row('', `(shown once; change it with \`npx remotemcp users passwd ${facts.admin.email}\`)`),
      );
  }
  for (const warning of facts.warnings) lines.push('', `  Warning: ${warning}`);
  lines.push('', '');
  return lines.join('\n');
};
