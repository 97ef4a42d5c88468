package media

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"strings"
)

// Placeholder returns a small file of the given MIME type for a simulated user's media message
// that came without bytes: a 1×1 JPEG, PNG or WebP, the header page of an Ogg Opus stream, one
// silent MPEG audio frame, the ftyp box of an MP4, a one-page PDF, or a line of text for other
// types. They are real enough for a client that checks the magic bytes.
func Placeholder(mimeType string) []byte {
	base, _, _ := mime.ParseMediaType(mimeType)
	switch base {
	case "image/jpeg":
		return pixelJPEG
	case "image/png":
		return pixelPNG
	case "image/webp":
		return pixelWebP
	case "audio/ogg", "audio/opus":
		return oggOpusHead
	case "audio/mpeg":
		return mp3Frame
	case "video/mp4", "audio/mp4":
		return mp4Ftyp("isom")
	case "video/3gpp":
		return mp4Ftyp("3gp4")
	case "application/pdf":
		return onePagePDF
	}
	return []byte("A placeholder file from a simulated WhatsApp user (waba).\n")
}

var (
	pixelJPEG = encodePixel(func(w io.Writer, img image.Image) error { return jpeg.Encode(w, img, nil) })
	pixelPNG  = encodePixel(png.Encode)
	// A 1×1 lossless WebP (VP8L).
	pixelWebP, _ = base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	oggOpusHead  = oggPage(2, 0, []byte("OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"))
	mp3Frame     = silentMP3Frame()
	onePagePDF   = minimalPDF()
)

func encodePixel(enc func(io.Writer, image.Image) error) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{R: 0x25, G: 0xd3, B: 0x66, A: 0xff}) // WhatsApp green
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		panic(fmt.Sprintf("media: encode placeholder: %v", err))
	}
	return b.Bytes()
}

// oggPage builds one Ogg page (RFC 3533) with its CRC: headerType 2 is the first page of a
// stream. The payload must be shorter than 255 bytes (one segment).
func oggPage(headerType byte, seq uint32, payload []byte) []byte {
	p := make([]byte, 0, 28+len(payload))
	p = append(p, "OggS"...)
	p = append(p, 0, headerType)
	p = binary.LittleEndian.AppendUint64(p, 0)          // granule position
	p = binary.LittleEndian.AppendUint32(p, 0x77616261) // stream serial ("waba")
	p = binary.LittleEndian.AppendUint32(p, seq)
	p = append(p, 0, 0, 0, 0) // CRC, filled below
	p = append(p, 1, byte(len(payload)))
	p = append(p, payload...)
	binary.LittleEndian.PutUint32(p[22:], oggCRC(p))
	return p
}

// oggCRC is Ogg's CRC-32: polynomial 0x04c11db7, not reflected, initial value 0.
func oggCRC(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc ^= uint32(c) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04c11db7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// silentMP3Frame is one MPEG-1 Layer III frame, 128 kbit/s, 44.1 kHz, no CRC, all zero data:
// 417 bytes.
func silentMP3Frame() []byte {
	f := make([]byte, 417)
	copy(f, []byte{0xff, 0xfb, 0x90, 0x64})
	return f
}

// mp4Ftyp is an ISO BMFF file with nothing but its ftyp box.
func mp4Ftyp(brand string) []byte {
	b := binary.BigEndian.AppendUint32(nil, 24)
	b = append(b, "ftyp"...)
	b = append(b, brand...)
	b = binary.BigEndian.AppendUint32(b, 0x200)
	b = append(b, brand...)
	b = append(b, "mp41"...)
	return b
}

// minimalPDF is a valid one-page PDF with a correct cross-reference table.
func minimalPDF() []byte {
	const text = "BT /F1 12 Tf 20 50 Td (waba placeholder) Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b strings.Builder
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return []byte(b.String())
}
