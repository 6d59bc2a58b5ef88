/** The node's version, as /api/health reports it and as registered with Center. */
export const VERSION = '0.1.0';
