// Sizes shared by the crash test and its child process.
export const STREAMS = 20;
export const PER_STREAM = 300;
