// Package indicator shows staff, with an LED and a buzzer, what the
// appliance asks for at the door: a regular walked in (three short
// blinks and a short beep by default), someone just became a regular,
// a "forget" was done. Patterns are configurable per kind. The indicator
// knows kinds, not decisions: the appliance says which kind a decision
// calls for.
//
// Requests arrive on the pipeline's path, so the indicator never makes
// its caller wait: Show only records the request, and a separate loop
// plays patterns. While one plays, further requests are coalesced into a
// single pending one (the most important kind wins), so a burst of
// visitors gives a short, readable signal instead of a minute of
// blinking. On shutdown every line is turned off.
//
// Outputs are GPIO lines (package pins, periph.io) or, on machines
// without GPIO, the log.
package indicator
