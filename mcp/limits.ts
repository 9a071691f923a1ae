// Bounds shared by both eras of /mcp.

/** Upper bound of a POST body; larger ones get 413 before anything is parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;
