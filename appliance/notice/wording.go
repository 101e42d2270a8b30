package notice

import (
	"fmt"
	"slices"
	"strings"

	"joren/cluster/store"
	"joren/sync/event"
)

// Lang is a language of the sign.
type Lang string

// The sign's languages.
const (
	Japanese Lang = "ja"
	English  Lang = "en"
)

// ParseLangs reads a comma-separated list of languages, such as "ja,en".
func ParseLangs(s string) ([]Lang, error) {
	var langs []Lang
	for part := range strings.SplitSeq(s, ",") {
		l := Lang(strings.ToLower(strings.TrimSpace(part)))
		switch {
		case l != Japanese && l != English:
			return nil, fmt.Errorf("language %q: want ja, en or ja,en", part)
		case slices.Contains(langs, l):
			return nil, fmt.Errorf("language %q given twice", part)
		}
		langs = append(langs, l)
	}
	return langs, nil
}

// Sign is the sign's text in one language: what both renderers lay out.
type Sign struct {
	Lang Lang
	// Banner is the line seen from afar ("face recognition camera").
	Banner string
	// Headline says in one sentence what the box does.
	Headline string
	// Rows are the details, each a label and its paragraphs.
	Rows []Row
	// Footer labels the shop's and the box's names, printed small for
	// requests to say which box they are about.
	Footer string
}

// Row is one labelled detail of the sign.
type Row struct {
	Label string
	Paras []string
}

// Wording is the sign's text for f in lang. f must pass Check.
func Wording(f Facts, lang Lang) Sign {
	if lang == Japanese {
		return japanese(f)
	}
	return english(f)
}

func english(f Facts) Sign {
	every := map[event.Period]string{event.Day: "day", event.Week: "week", event.Month: "month", event.Year: "year"}[f.Period]
	regular := fmt.Sprintf("You count as a regular after visits on %d different days within %d days.", f.RegularDays, f.WindowDays)
	deleted := fmt.Sprintf("Deleted automatically once you have not visited for %d days.", f.RetentionDays)
	encrypted := ""
	if f.Encrypted {
		encrypted = "encrypted, "
	}
	signal := map[Signal]string{Light: " (a light by the counter)", Beep: " (a beep by the counter)"}[f.Signal]
	s := Sign{Lang: English}
	var sent Row
	if f.HeadOffice {
		sent = Row{"Head office", []string{fmt.Sprintf("Visits are reported to our head office under a code that changes every %s (pseudonymised personal data): never a face, the numbers or a name.", every)}}
	} else {
		sent = Row{"Sent outside", []string{"Nothing: no information about you leaves this shop."}}
	}
	askHQ := ""
	if f.HeadOffice {
		askHQ = " For the visits already reported to head office, ask the contact below."
	}
	if f.Mode == store.Consent {
		purpose := "To let our staff know when a member comes in" + signal + ", and to count members' visits."
		if f.Signal == NoSignal {
			purpose = "To recognise members and to count their visits."
		}
		s.Banner = "Face recognition camera: members only"
		s.Headline = "This shop recognises only the members who signed up for it."
		s.Rows = []Row{
			{"Not a member?", []string{"You are not recognised and nothing about who you are is kept. The device at the door compares faces with the members' inside itself and discards yours as soon as you have passed; it notes only the time someone passed."}},
			{"Purpose", []string{purpose}},
			{"Members", []string{keptEN(f.Encrypted) + ": your name, the date and a note of your sign-up, numbers made from your face when you signed up (never a picture) and the dates and times of your visits. " + deleted + " " + regular}},
			sent,
			{"To withdraw", []string{"Ask any member of staff, at any time: your membership and your records in this device are deleted at once." + askHQ}},
		}
	} else {
		purpose := "To let our staff know when a regular customer comes in" + signal + ", and to count visits."
		if f.Signal == NoSignal {
			purpose = "To recognise regular customers and to count visits."
		}
		s.Banner = "Face recognition camera in use"
		s.Headline = "This shop recognises returning customers with a camera."
		s.Rows = []Row{
			{"Purpose", []string{purpose}},
			{"How", []string{"A device at the door turns your face into numbers and compares them, inside the device, with those of earlier visits. No picture of you is stored or sent. " + regular}},
			{"What is kept", []string{"Those numbers and the dates and times of your visits, " + encrypted + "in this device only. " + deleted}},
			sent,
			{"To be forgotten", []string{"Ask any member of staff, at any time: your records in this device are deleted at once." + askHQ}},
		}
	}
	s.Rows = append(s.Rows, Row{"Responsible and contact", append(f.contactLines(), "Ask here for a copy of what is kept about you, or with any question.")})
	s.Footer = "Shop and device"
	return s
}

func japanese(f Facts) Sign {
	every := map[event.Period]string{event.Day: "日", event.Week: "週", event.Month: "月", event.Year: "年"}[f.Period]
	who := "お客様"
	if f.Mode == store.Consent {
		who = "会員様"
	}
	regular := fmt.Sprintf("%d日間に%d日ご来店された%sを常連とします。", f.WindowDays, f.RegularDays, who)
	deleted := fmt.Sprintf("%d日間ご来店がない場合は自動的に削除します。", f.RetentionDays)
	encrypted := ""
	if f.Encrypted {
		encrypted = "暗号化して"
	}
	signal := map[Signal]string{Light: "（レジ付近のランプが点灯します）", Beep: "（レジ付近で音が鳴ります）"}[f.Signal]
	s := Sign{Lang: Japanese}
	var sent Row
	if f.HeadOffice {
		sent = Row{"本部への送信", []string{fmt.Sprintf("ご来店の記録は、%sごとに変わる符号（仮名化された個人データ）で本部に送信します。お顔の画像・数値・お名前は送信しません。", every)}}
	} else {
		sent = Row{"店外への送信", []string{"ありません。お客様に関する情報を店外に送ることはありません。"}}
	}
	askHQ := ""
	if f.HeadOffice {
		askHQ = "本部に送信済みの記録については、下記のお問い合わせ先にご連絡ください。"
	}
	if f.Mode == store.Consent {
		purpose := "会員様のご来店をスタッフにお知らせするため" + signal + "、および会員様の来店数を集計するため。"
		if f.Signal == NoSignal {
			purpose = "会員様を認識し、その来店数を集計するため。"
		}
		s.Banner = "顔認識カメラ作動中（登録会員様のみ）"
		s.Headline = "当店では、ご登録に同意された会員様のみをカメラで認識しています。"
		s.Rows = []Row{
			{"会員以外の方", []string{"認識されず、お客様に関する情報は保存されません。入口の機器はお顔を会員様の情報とこの機器の中で照合し、通過後ただちに破棄します。記録するのは、どなたかが通過した時刻のみです。"}},
			{"利用目的", []string{purpose}},
			{"会員様の情報", []string{"お名前、ご登録日とその記録、ご登録時にお顔から作成した数値（画像は保存しません）、ご来店日時を、" + encrypted + "この機器の中にのみ保存します。" + deleted + regular}},
			sent,
			{"登録の取り消し", []string{"いつでもお近くのスタッフにお申し付けください。ご登録とこの機器内のお客様の記録をその場で削除します。" + askHQ}},
		}
	} else {
		purpose := "常連のお客様のご来店をスタッフにお知らせするため" + signal + "、および来店数を集計するため。"
		if f.Signal == NoSignal {
			purpose = "常連のお客様を認識し、来店数を集計するため。"
		}
		s.Banner = "顔認識カメラ作動中"
		s.Headline = "当店では、カメラで再来店のお客様を認識しています。"
		s.Rows = []Row{
			{"利用目的", []string{purpose}},
			{"仕組み", []string{"入口の機器がお顔を数値（特徴量）に変換し、この機器の中で以前のご来店時の数値と照合します。お顔の画像は保存も送信もしません。" + regular}},
			{"保存する情報", []string{"上記の数値とご来店日時を、" + encrypted + "この機器の中にのみ保存します。" + deleted}},
			sent,
			{"削除のご依頼", []string{"いつでもお近くのスタッフにお申し付けください。この機器内のお客様の記録をその場で削除します。" + askHQ}},
		}
	}
	s.Rows = append(s.Rows, Row{"責任者・連絡先", append(f.contactLines(), "保存している情報の開示のご請求やご質問もこちらへ。")})
	s.Footer = "店舗・機器"
	return s
}

// keptEN opens the English sentence on what is kept about members.
func keptEN(encrypted bool) string {
	if encrypted {
		return "Kept, encrypted, in this device only"
	}
	return "Kept in this device only"
}
