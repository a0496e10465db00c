/**
 * `node --import` this module to log every module a process loads into
 * the file `$TESSERA_MODULE_LOG` (tests of what a command loads).
 */
import { register } from 'node:module'

register(new URL('./module-log-hooks.js', import.meta.url))
