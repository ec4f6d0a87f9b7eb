/**
 * The JRuby boundary: {@link io.piston.ruby.PistonLibrary}, the one loader, and every class Ruby
 * sees or calls (Piston::Connection, HijackedIO, HijackCall, EarlyHints, Piston.publish, the
 * {@link io.piston.ruby.RackApplication} that Piston::Server builds around the app). Worker and app
 * threads.
 */
package io.piston.ruby;
