import { hostname } from 'node:os';

/** `host:pid` of this process: how an operator reads which process claimed, reported or holds something. */
export const THIS_PROCESS = `${hostname()}:${process.pid}`;
