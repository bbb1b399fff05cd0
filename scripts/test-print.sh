#!/usr/bin/env bash
# The printed card's PDF as readers see it (core/tests/card_pdf.rs): installs what it
# needs if missing (poppler-utils renders and reads the PDF back; fonts-noto-cjk is the
# default card font, CFF outlines; fonts-wqy-microhei a TrueType one), then renders
# cards for a Chinese, a long Latin and rare-character names and checks the text, the
# margins, the embedded subset and the symbol. The cards stay in target/tmp/card-pdf/.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v pdftoppm >/dev/null && command -v pdftotext >/dev/null && command -v pdffonts >/dev/null ||
  need+=(poppler-utils)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Missing tools fail the tests here instead of skipping them.
CI=true cargo test --locked -p citycode --features pdf --test card_pdf
