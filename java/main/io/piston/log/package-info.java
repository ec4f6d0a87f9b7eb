/**
 * The one log of the server (stderr, or a stream the specs capture). Any thread; depends on
 * nothing else of Piston.
 */
package io.piston.log;
