// Package pintest provides GPIO pins for tests: periph's gpiotest pins,
// registered by name as the board's pins would be, that remember every
// level written to them and when (gpiotest keeps only the last), so tests
// can check the exact blinks and beeps the staff saw.
package pintest
