package notice

import (
	"strings"
	"testing"

	"joren/cluster/store"
	"joren/sync/event"
)

// What each sign must and must not promise, per mode, language and whether
// events leave the shop: the promises docs/privacy.md checks against the
// code.
func TestWording(t *testing.T) {
	base := Facts{Site: "shibuya-1", Device: "door-1", RetentionDays: 60, RegularDays: 2, WindowDays: 14, Encrypted: true, Signal: Light, Period: event.Month, Contact: "Kissa Hoshi\nprivacy@hoshi.jp"}
	cases := []struct {
		mode       store.Mode
		headOffice bool
		lang       Lang
		want, not  []string
	}{
		{store.Counting, true, English, []string{
			"This shop recognises returning customers with a camera.",
			"when a regular customer comes in (a light by the counter)",
			"the dates and times of your visits, encrypted, in this device only.",
			"No picture of you is stored or sent.",
			"visits on 2 different days within 14 days",
			"once you have not visited for 60 days",
			"under a code that changes every month (pseudonymised personal data)",
			"Ask any member of staff, at any time",
			"For the visits already reported to head office, ask the contact below.",
			"Kissa Hoshi", "privacy@hoshi.jp",
		}, []string{"anonymous", "nothing that identifies you", "leaves this shop"}},
		{store.Counting, false, English, []string{
			"Nothing: no information about you leaves this shop.",
			"Ask any member of staff, at any time: your records in this device are deleted at once.",
		}, []string{"head office", "pseudonym"}},
		{store.Consent, true, English, []string{
			"only the members who signed up",
			"You are not recognised and nothing about who you are is kept.",
			"it notes only the time someone passed",
			"Kept, encrypted, in this device only: your name, the date and a note of your sign-up, numbers made from your face when you signed up (never a picture)",
			"once you have not visited for 60 days",
			"(pseudonymised personal data)",
			"To withdraw",
		}, []string{"returning customers", "anonymous"}},
		{store.Counting, true, Japanese, []string{
			"当店では、カメラで再来店のお客様を認識しています。",
			"お顔の画像は保存も送信もしません。",
			"14日間に2日ご来店されたお客様を常連とします。",
			"60日間ご来店がない場合は自動的に削除します。",
			"月ごとに変わる符号（仮名化された個人データ）で本部に送信します。",
			"いつでもお近くのスタッフにお申し付けください。この機器内のお客様の記録をその場で削除します。",
			"（レジ付近のランプが点灯します）",
			"ご来店日時を、暗号化してこの機器の中にのみ保存します。",
			"本部に送信済みの記録については、下記のお問い合わせ先にご連絡ください。",
		}, []string{"匿名", "店外に送ることはありません"}},
		{store.Counting, false, Japanese, []string{"お客様に関する情報を店外に送ることはありません。"}, []string{"本部"}},
		{store.Consent, false, Japanese, []string{
			"ご登録に同意された会員様のみ",
			"認識されず、お客様に関する情報は保存されません。",
			"記録するのは、どなたかが通過した時刻のみです。",
			"14日間に2日ご来店された会員様を常連とします。",
			"登録の取り消し",
		}, []string{"再来店", "本部"}},
	}
	for _, c := range cases {
		f := base
		f.Mode, f.HeadOffice = c.mode, c.headOffice
		s := Wording(f, c.lang)
		all := strings.Join(signText([]Sign{s}), "\n")
		name := string(c.mode) + "/" + string(c.lang)
		if c.headOffice {
			name += "/head office"
		}
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: the sign does not say %q:\n%s", name, w, all)
			}
		}
		for _, w := range c.not {
			if strings.Contains(all, w) {
				t.Errorf("%s: the sign says %q", name, w)
			}
		}
		if s.Lang != c.lang || len(s.Rows) != 6 {
			t.Errorf("%s: %d rows in %q", name, len(s.Rows), s.Lang)
		}
	}
	// Without a light, the sign promises none; without a key, no
	// encryption.
	f := base
	f.Mode, f.Signal, f.Encrypted = store.Counting, NoSignal, false
	for _, l := range []Lang{English, Japanese} {
		all := strings.Join(signText([]Sign{Wording(f, l)}), "\n")
		for _, w := range []string{"light", "encrypted", "ランプ", "暗号化"} {
			if strings.Contains(all, w) {
				t.Errorf("%s without light or key says %q:\n%s", l, w, all)
			}
		}
	}
	f.Signal = Beep
	if en, ja := signText([]Sign{Wording(f, English)})[3], signText([]Sign{Wording(f, Japanese)})[3]; !strings.Contains(en, "(a beep by the counter)") || !strings.Contains(ja, "音が鳴ります") {
		t.Errorf("a buzzer alone: %q, %q", en, ja)
	}
	// Periods in both languages.
	for p, want := range map[event.Period][2]string{event.Day: {"every day", "日ごと"}, event.Week: {"every week", "週ごと"}, event.Year: {"every year", "年ごと"}} {
		f := base
		f.Mode, f.HeadOffice, f.Period = store.Counting, true, p
		en := strings.Join(signText([]Sign{Wording(f, English)}), " ")
		ja := strings.Join(signText([]Sign{Wording(f, Japanese)}), " ")
		if !strings.Contains(en, want[0]) || !strings.Contains(ja, want[1]) {
			t.Errorf("period %s: want %q and %q", p, want[0], want[1])
		}
	}
}
