// OAuth scopes this server knows (documented in README "Scopes").
export const MCP_READ = 'mcp:tools:read'; // list tools, call read-only tools
export const MCP_WRITE = 'mcp:tools:write'; // call tools that change state (fs write/edit/move, memory store/delete)
export const MCP_SCOPES = [MCP_READ, MCP_WRITE] as const;
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;
export const SUPPORTED_SCOPES = [...MCP_SCOPES, ...OIDC_SCOPES] as const;
/** Granted when a client asks for no scope (RFC 6749 §3.3 lets the server pick a default). */
export const DEFAULT_SCOPES = [...MCP_SCOPES];
