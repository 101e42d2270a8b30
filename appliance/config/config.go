package config

import (
	"time"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/sync/event"
	"joren/sync/outbox"
	"joren/vision/quality"
)

// Config is the whole configuration. Every field has a `doc` tag (the
// comment printed above it in the annotated defaults) and the default in
// Default.
type Config struct {
	Device    Device    `yaml:"device" doc:"This box: its name, its shop, where it keeps data."`
	Camera    Camera    `yaml:"camera" doc:"Where frames come from."`
	Vision    Vision    `yaml:"vision" doc:"Faces: detection, quality gate, descriptors."`
	Store     Store     `yaml:"store" doc:"The identity store: visitors, their visits, retention."`
	Regular   Regular   `yaml:"regular" doc:"Who is a regular."`
	Indicator Indicator `yaml:"indicator" doc:"The staff indicator: LED and buzzer on GPIO pins."`
	Events    Events    `yaml:"events" doc:"Pseudonymous visit events (counts, no face, no name) to head office over MQTT."`
	HTTP      HTTP      `yaml:"http" doc:"Health check and Prometheus metrics, for the box's own monitoring."`
	Installer Installer `yaml:"installer" doc:"The installer's web page: live view to aim the camera. Off by default."`
	Control   Control   `yaml:"control" doc:"The local socket through which joren staff, customers, forget and store reach the running service."`
	Log       Log       `yaml:"log" doc:"Logging (to standard error: the journal on the device)."`
}

// Device identifies the box.
type Device struct {
	ID       string `yaml:"id" doc:"This box's name in events and topics (letters, digits, '-', '_'). Empty: the host name."`
	Site     string `yaml:"site" doc:"The shop's name in events and topics. Required when events.broker is set."`
	Timezone string `yaml:"timezone" doc:"IANA time zone of the shop (e.g. Asia/Tokyo): visits are counted per local day. Empty: the system's."`
	DataDir  string `yaml:"data_dir" doc:"Where the store, the event outbox and the device secret live (the data partition)."`
	Models   string `yaml:"models" doc:"Directory of the face model files (joren models verify checks it)."`
	Contact  string `yaml:"contact" doc:"Who runs this box and answers customers about their data, as the door sign says it (joren notice): the shop or company, its address, an e-mail or phone number. Up to 4 lines."`
}

// Camera selects the frame source.
type Camera struct {
	Source string  `yaml:"source" doc:"/dev/videoN (USB camera), csi or csi:1 (the board's camera connector: Raspberry Pi Camera Module 3 or HQ through libcamera, Jetson camera through Argus), rtsp://... or http://... (IP camera), a video file, a folder of pictures, or gst:PIPELINE (GStreamer)."`
	Width  int     `yaml:"width" doc:"Requested frame width in pixels (USB and csi cameras)."`
	Height int     `yaml:"height" doc:"Requested frame height in pixels (USB and csi cameras)."`
	FPS    float64 `yaml:"fps" doc:"Requested frame rate (USB and csi cameras; the pace of a picture folder)."`
	Clock  string  `yaml:"clock" doc:"DEMO AND TESTS: time a recording's frames from this joren sim truth file's timeline (simulated days) instead of the wall clock. Empty on a device."`

	MaxImagePixels int64 `yaml:"max_image_pixels" doc:"The largest picture or frame read: a folder's pictures whose header claims more pixels are skipped before decoding; a camera, stream, video or pipeline whose frames are larger is refused, naming their size (50 million fits a 2 GB Raspberry Pi; at most 268435456)."`
}

// Vision tunes the face pipeline.
type Vision struct {
	Embedder     string  `yaml:"embedder" doc:"Descriptors: dlib (ResNet, 128-D) or onnx (a network registered with joren models add-onnx)."`
	ONNXModel    string  `yaml:"onnx_model" doc:"With embedder onnx: the registered network's name. Empty: the only one."`
	Detector     string  `yaml:"detector" doc:"auto (the default: yunet where the model directory has it, unless the identity store's people were described from hog's faces, which then keeps hog), yunet (finds turned and small faces, with five landmarks that align them, for less CPU), hog (dlib's) or mmod (dlib's CNN: seconds per megapixel, use a small detect_width; cnn is its older name). The store keeps one model: changing between yunet and hog or mmod means enrolling people again."`
	DetectWidth  int     `yaml:"detect_width" doc:"Frames are shrunk to this width before detection; YuNet finds faces of about 20 pixels and more at this size, HOG of about 80."`
	MinFace      int     `yaml:"min_face" doc:"Smallest face, in pixels of the full frame, worth a descriptor."`
	MinSharpness float64 `yaml:"min_sharpness" doc:"Sharpness (variance of the Laplacian of the face at 96x96 pixels) a face needs for a descriptor: blurred faces make poor descriptors."`
	MinFrontal   float64 `yaml:"min_frontal" doc:"Frontalness (0-1, from the landmarks) a face needs for a descriptor: 0.4 lets a face turned by 30 degrees through, not one turned by 45."`
	Descriptors  int     `yaml:"descriptors" doc:"Descriptors kept per visit: the best faces of the passage."`
	DebugDir     string  `yaml:"debug_dir" doc:"DEBUG ONLY: write every described face's picture here. Empty (the default): no picture is ever written."`
}

// Store configures the identity store.
type Store struct {
	Dir           string `yaml:"dir" doc:"The store's directory (it holds identities.db). Empty: store/ in device.data_dir."`
	KeyFile       string `yaml:"key_file" doc:"Key that encrypts the store at rest, kept outside the data partition (created on first start if missing and its directory exists). On the image, joren-provision copies it there from the card's CONFIG partition. Empty: not encrypted."`
	Mode          string `yaml:"mode" doc:"counting: everyone who passes is counted and may become a regular; consent: only customers enrolled with joren customers add are recognised, nobody else is remembered."`
	RetentionDays int    `yaml:"retention_days" doc:"Visitors not seen for this many days are deleted with all their data."`
	MaxIdentities int    `yaml:"max_identities" doc:"Most visitors kept; when full, never-regular visitors seen least recently are evicted first."`
	MaxBytes      int64  `yaml:"max_bytes" doc:"Most bytes the store may hold (0: no limit beyond max_identities)."`
	MaintainHour  int    `yaml:"maintain_hour" doc:"Local hour (0-23) of the nightly maintenance pass (re-clustering, retention)."`
}

// Regular is the regular-customer policy.
type Regular struct {
	Days         int `yaml:"days" doc:"A visitor becomes a regular once seen on this many distinct days..."`
	WindowDays   int `yaml:"window_days" doc:"...within this many days."`
	MergeMinutes int `yaml:"merge_minutes" doc:"Passages within this many minutes are one visit."`
}

// Indicator drives the staff light and buzzer.
type Indicator struct {
	Kind       string `yaml:"kind" doc:"gpio (LED and buzzer on pins), log (print the pattern; machines without GPIO) or none."`
	LED        string `yaml:"led" doc:"LED pin, e.g. GPIO17; add :low for an active-low line (GPIO17:low). Empty: no LED."`
	Buzzer     string `yaml:"buzzer" doc:"Buzzer pin, same form. Empty: no buzzer."`
	Button     string `yaml:"button" doc:"Optional push button pin (pulled up, pressed = low); a press forgets the last customer seen. Empty: no button."`
	Regular    string `yaml:"regular" doc:"Pattern when a regular walks in (steps like 'led+buzz 120ms, off 120ms'). Empty: the built-in three blinks and a beep."`
	NewRegular string `yaml:"new_regular" doc:"Pattern when a visitor has just become a regular. Empty: built-in."`
}

// Events configures publishing to head office.
type Events struct {
	Broker          string `yaml:"broker" doc:"mqtt://host[:port] or mqtts://host[:port]. Empty: events wait in the outbox until a broker is set."`
	User            string `yaml:"user" doc:"MQTT user name."`
	PasswordFile    string `yaml:"password_file" doc:"File holding the MQTT password."`
	CAFile          string `yaml:"ca_file" doc:"PEM CA of the broker's certificate (mqtts). Empty: the system's roots."`
	CertFile        string `yaml:"cert_file" doc:"PEM client certificate, for brokers that require one."`
	KeyFile         string `yaml:"key_file" doc:"PEM key of the client certificate."`
	PseudonymPeriod string `yaml:"pseudonym_period" doc:"How long a visitor keeps one pseudonym: day, week, month or year."`
	Discovery       bool   `yaml:"ha_discovery" doc:"Publish Home Assistant MQTT discovery (a 'regular at the door' sensor and counters)."`
	Commands        bool   `yaml:"commands" doc:"Accept signed commands (forget, stats) on the command topic."`
	CommandKeyFile  string `yaml:"command_key_file" doc:"Key shared with head office that signs commands. Required when commands is on."`
	OutboxMax       int    `yaml:"outbox_max" doc:"Most events kept while the broker is unreachable; the oldest are dropped (and counted) beyond."`
}

// HTTP is the local health and metrics endpoint.
type HTTP struct {
	Listen string `yaml:"listen" doc:"Address of /healthz and /metrics. Keep it on localhost. Empty: off."`
}

// Installer is the installer's page.
type Installer struct {
	Enabled           bool   `yaml:"enabled" doc:"Serve the installer page. It shows the live camera (faces) to whoever has the password: turn it off once the camera is aimed."`
	Listen            string `yaml:"listen" doc:"Address of the installer page."`
	PasswordFile      string `yaml:"password_file" doc:"File holding the installer page's password, at least 8 characters (required when enabled). On the image, joren/installer.password on the card's CONFIG partition ends up here."`
	OffAfterMinutes   int    `yaml:"off_after_minutes" doc:"The page turns itself off this many minutes after start (0: never). Holding the staff button 10 s, or head office's page command, turns it on again."`
	StaffPasswordFile string `yaml:"staff_password_file" doc:"File holding the staff's password or PIN, at least 6 characters: it logs in to enrol staff and customers and to forget visitors, never to the live view or the settings. Empty: no staff login. On the image, joren/staff.password on the CONFIG partition ends up in /run/joren."`
}

// Control is the local control socket.
type Control struct {
	Socket string `yaml:"socket" doc:"Unix socket (absolute path) of the running service, for joren staff, customers, forget and store: mode 0600 in a directory of mode 0700, root and the service's user only. Empty: off (those commands then need the service stopped)."`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level" doc:"debug, info, warn or error."`
	Format string `yaml:"format" doc:"text or json."`
}

// DefaultMaxImagePixels and MaxImagePixelsCeiling are camera.max_image_pixels'
// default and bound: vision/picture's DefaultMaxPixels and MaxPixelsCeiling,
// which the configuration cannot import (cgo); cmd/joren's tests hold them
// equal.
const (
	DefaultMaxImagePixels = 50_000_000
	MaxImagePixelsCeiling = 1 << 28
)

// Default returns the configuration used for every key the file does not
// set. The regular policy, the store's limits and the events' defaults are
// their packages' own, so the device and the commands agree.
func Default() Config {
	pol := identity.DefaultPolicy(nil)
	lim := store.DefaultLimits()
	return Config{
		Device: Device{DataDir: "/data/joren", Models: "/usr/share/joren/models"},
		Camera: Camera{Source: "/dev/video0", Width: 640, Height: 480, FPS: 15, MaxImagePixels: DefaultMaxImagePixels},
		Vision: Vision{Embedder: "dlib", Detector: "auto", DetectWidth: 640, MinFace: quality.DefaultMinFace, MinSharpness: 100, MinFrontal: 0.4, Descriptors: 3},
		Store: Store{
			KeyFile: "/run/joren/store.key", Mode: string(store.Counting), RetentionDays: pol.Retention,
			MaxIdentities: lim.MaxIdentities, MaxBytes: lim.MaxBytes, MaintainHour: 3,
		},
		Regular: Regular{
			Days: pol.RegularDays, WindowDays: pol.Window, MergeMinutes: int(pol.MergeWindow / time.Minute),
		},
		Indicator: Indicator{Kind: "gpio", LED: "GPIO17", Buzzer: "GPIO27"},
		Events:    Events{PseudonymPeriod: string(event.Month), OutboxMax: outbox.DefaultMax},
		HTTP:      HTTP{Listen: "127.0.0.1:9180"},
		Installer: Installer{Listen: ":8080", PasswordFile: "/run/joren/installer.password", OffAfterMinutes: 120},
		Control:   Control{Socket: "/run/joren/control.sock"},
		Log:       Log{Level: "info", Format: "text"},
	}
}
