package installer

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"joren/appliance/config"
)

// staffPIN is testdata/staff-pin.
const staffPIN = "482915"

// shelf is a People holding names only: the page's HTTP side is tested
// here; the appliance's browser test runs the real identity store.
type shelf struct{ staff []string }

func (s *shelf) Mode() string { return "counting" }
func (s *shelf) Staff() ([]StaffMember, error) {
	var out []StaffMember
	for _, n := range s.staff {
		out = append(out, StaffMember{Name: n, Faces: 5})
	}
	return out, nil
}
func (s *shelf) AddStaff(name string, faces [][]float32) (StaffMember, error) {
	s.staff = append(s.staff, name)
	return StaffMember{Name: name, Faces: len(faces)}, nil
}
func (s *shelf) RemoveStaff(string) (bool, error)  { return false, nil }
func (s *shelf) Customers() ([]Customer, error)    { return nil, nil }
func (s *shelf) Match([][]float32) (Person, error) { return Person{}, nil }
func (s *shelf) Forget(string) (Forgotten, bool, error) {
	return Forgotten{}, false, nil
}
func (s *shelf) RemoveCustomer(string) (Forgotten, bool, error) { return Forgotten{}, false, nil }
func (s *shelf) AddCustomer(name, _ string, faces [][]float32) (Enrolled, error) {
	return Enrolled{Customer: Customer{Name: name, Faces: len(faces)}, New: true}, nil
}

// The staff password opens the people flows, the health and the last
// visitors, never the live view, the configuration, the settings or the
// light; the installer's opens everything. Every new post refuses other
// sites.
func TestRoles(t *testing.T) {
	var applied [][]config.Override
	h := newHarness(t, func(o *Options) {
		o.StaffPasswordFile = "testdata/staff-pin"
		o.People, o.Capture = &shelf{}, NewCapture(CaptureOptions{})
		o.Configure = func(c []config.Override) error { applied = append(applied, c); return nil }
		o.TestIndicator = func() error { return nil }
	})
	post := func(c *http.Client, path, body string, header ...string) int {
		req, _ := http.NewRequest("POST", h.http.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	staff, inst := h.client(t), h.client(t)
	h.login(t, staff, staffPIN)
	h.login(t, inst, testPassword)
	for _, tc := range []struct {
		method, path, body string
		staff, installer   int
	}{
		{"GET", "/api/live", "", 403, 200},
		{"GET", "/api/config", "", 403, 200},
		{"GET", "/api/status", "", 200, 200},
		{"GET", "/api/people", "", 200, 200},
		{"GET", "/api/capture", "", 200, 200},
		{"POST", "/api/settings", `{"device.site":"x"}`, 403, 200},
		{"POST", "/api/test-indicator", "", 403, 200},
		{"POST", "/api/capture/cancel", "", 200, 200},
		{"POST", "/api/forget", `{"ref":"dnothing"}`, 404, 404},
	} {
		for _, who := range []struct {
			c    *http.Client
			want int
		}{{staff, tc.staff}, {inst, tc.installer}} {
			code := 0
			if tc.method == "GET" {
				resp, _ := get(t, who.c, h.http.URL+tc.path)
				code = resp.StatusCode
			} else {
				code = post(who.c, tc.path, tc.body)
			}
			if code != who.want {
				t.Errorf("%s %s as %s: %d, want %d", tc.method, tc.path, map[bool]string{true: "staff", false: "installer"}[who.c == staff], code, who.want)
			}
		}
		h.clock.add(4 * time.Second) // the light's pace
	}
	if len(applied) != 1 || applied[0][0] != (config.Override{Key: "device.site", Value: "x"}) {
		t.Errorf("settings applied: %v, want the installer's only", applied)
	}
	// Staff see no counts in the status.
	if _, body := get(t, staff, h.http.URL+"/api/status"); strings.Contains(string(body), `"counts"`) {
		t.Errorf("staff status: %s", body)
	}
	// Keys the page does not edit are refused.
	if code := post(inst, "/api/settings", `{"store.key_file":"/tmp/k"}`); code != http.StatusBadRequest {
		t.Errorf("editing store.key_file: %d", code)
	}
	for _, path := range []string{"/api/capture", "/api/forget", "/api/settings", "/api/people/staff/remove"} {
		if code := post(inst, path, `{}`, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
			t.Errorf("POST %s from another site: %d", path, code)
		}
	}
	if !strings.Contains(h.log.String(), "role=staff") {
		t.Errorf("the staff login is not logged with its role:\n%s", h.log)
	}
}

// A staff password must be long enough and not the installer's.
func TestStaffPassword(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"testdata/short-pin", "has 5 characters, want at least 6"},
		{"testdata/password", "the staff password is the installer's"},
		{"testdata/nothing", "installer.staff_password_file"},
	} {
		_, err := New(Options{PasswordFile: "testdata/password", StaffPasswordFile: tc.file, Live: NewLive(LiveOptions{}), Status: &fakeStatus{}, Pseudonym: testPseudonym})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.file, err, tc.want)
		}
	}
	if err := CheckStaffPasswordFile("testdata/staff-pin"); err != nil {
		t.Error(err)
	}
}
