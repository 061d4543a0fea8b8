/*
 * acpi.c - ACPI tables and DSDT AML for sbx-vmm guests (acpi.h).
 *
 * Layout references: ACPI 6.5 sections 5.2 (tables) and 20 (AML grammar).
 */
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "kvm/vmm/acpi.h"
#include "kvm/vmm/layout.h"
#include "core/banned.h"

#define OEM_ID "SBX   "
#define OEM_TABLE "SBXVMM  "
#define HDR_LEN 36

static uint8_t
checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return (uint8_t)-s;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

/* Fills a standard table header; the checksum is set by sdt_finish(). */
static void
sdt_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE, 8);
	put32(t + 24, 1);
	memcpy(t + 28, "SBXV", 4);
	put32(t + 32, 1);
}

static void
sdt_finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

/* ---- AML ------------------------------------------------------------ */

/* Appends a PkgLength for `len` bytes of content that follow it. */
static void
aml_pkglen(struct sbx_buf *b, size_t len)
{
	size_t total;

	if (len + 1 < 64) {
		sbx_buf_addch(b, len + 1);
		return;
	}
	if (len + 2 < (1u << 12)) {
		total = len + 2;
		sbx_buf_addch(b, 1 << 6 | (total & 0xf));
		sbx_buf_addch(b, total >> 4);
		return;
	}
	total = len + 3;
	sbx_buf_addch(b, 2 << 6 | (total & 0xf));
	sbx_buf_addch(b, (total >> 4) & 0xff);
	sbx_buf_addch(b, total >> 12);
}

/* Appends `op` (1-2 bytes), a PkgLength and the content of `in`. */
static void
aml_wrap(struct sbx_buf *b, const char *op, size_t oplen,
    const struct sbx_buf *in)
{
	sbx_buf_add(b, op, oplen);
	aml_pkglen(b, in->len);
	sbx_buf_add(b, in->buf, in->len);
}

static void
aml_int(struct sbx_buf *b, uint64_t v)
{
	uint8_t x[8];

	if (v == 0 || v == 1) {
		sbx_buf_addch(b, v);	/* ZeroOp / OneOp */
	} else if (v <= 0xff) {
		sbx_buf_addch(b, 0x0a);
		sbx_buf_addch(b, v);
	} else if (v <= 0xffff) {
		sbx_buf_addch(b, 0x0b);
		put16(x, v);
		sbx_buf_add(b, x, 2);
	} else if (v <= 0xffffffff) {
		sbx_buf_addch(b, 0x0c);
		put32(x, v);
		sbx_buf_add(b, x, 4);
	} else {
		sbx_buf_addch(b, 0x0e);
		put64(x, v);
		sbx_buf_add(b, x, 8);
	}
}

/* Name(seg, Integer) */
static void
aml_name_int(struct sbx_buf *b, const char *seg, uint64_t v)
{
	sbx_buf_addch(b, 0x08);
	sbx_buf_add(b, seg, 4);
	aml_int(b, v);
}

/* Name(seg, "string") */
static void
aml_name_str(struct sbx_buf *b, const char *seg, const char *s)
{
	sbx_buf_addch(b, 0x08);
	sbx_buf_add(b, seg, 4);
	sbx_buf_addch(b, 0x0d);
	sbx_buf_add(b, s, strlen(s) + 1);
}

/* Name(_CRS, ResourceTemplate(){ res... EndTag }) */
static void
aml_name_crs(struct sbx_buf *b, const uint8_t *res, size_t len)
{
	struct sbx_buf in = SBX_BUF_INIT;
	static const uint8_t end[2] = { 0x79, 0x00 };

	aml_int(&in, len + 2);
	sbx_buf_add(&in, res, len);
	sbx_buf_add(&in, end, 2);
	sbx_buf_addch(b, 0x08);
	sbx_buf_add(b, "_CRS", 4);
	aml_wrap(b, "\x11", 1, &in);	/* BufferOp */
	sbx_buf_release(&in);
}

/* Device(seg) { body } */
static void
aml_device(struct sbx_buf *b, const char *seg, const struct sbx_buf *body)
{
	struct sbx_buf in = SBX_BUF_INIT;

	sbx_buf_add(&in, seg, 4);
	sbx_buf_add(&in, body->buf, body->len);
	aml_wrap(b, "\x5b\x82", 2, &in);
	sbx_buf_release(&in);
}

static void
aml_com1(struct sbx_buf *b)
{
	struct sbx_buf d = SBX_BUF_INIT;
	static const uint8_t res[] = {
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08,	/* IO */
		0x22, 0x10, 0x00,				/* IRQ 4 */
	};

	sbx_buf_addch(&d, 0x08);
	sbx_buf_add(&d, "_HID", 4);
	aml_int(&d, 0x0105d041);	/* EisaId("PNP0501") */
	aml_name_int(&d, "_UID", 1);
	aml_name_crs(&d, res, sizeof(res));
	aml_device(b, "COM1", &d);
	sbx_buf_release(&d);
}

static void
aml_virtio(struct sbx_buf *b, unsigned i, const struct acpi_mmio_dev *v)
{
	struct sbx_buf d = SBX_BUF_INIT;
	uint8_t res[12 + 9];
	char seg[5];

	res[0] = 0x86;			/* Memory32Fixed, ReadWrite */
	put16(res + 1, 9);
	res[3] = 1;
	put32(res + 4, (uint32_t)v->base);
	put32(res + 8, 0x1000);
	res[12] = 0x89;			/* Extended Interrupt */
	put16(res + 13, 6);
	res[15] = 0x03;			/* consumer, edge, high, excl. */
	res[16] = 1;
	put32(res + 17, v->gsi);
	aml_name_str(&d, "_HID", "LNRO0005");
	aml_name_int(&d, "_UID", i);
	aml_name_int(&d, "_CCA", 1);
	aml_name_crs(&d, res, sizeof(res));
	seg[0] = 'V';
	seg[1] = '0' + i / 100 % 10;
	seg[2] = '0' + i / 10 % 10;
	seg[3] = '0' + i % 10;
	seg[4] = 0;
	aml_device(b, seg, &d);
	sbx_buf_release(&d);
}

/* The DSDT body: Scope(\_SB) { COM1, Vnnn... } and Name(\_S5, {5, 0}). */
static void
aml_dsdt(struct sbx_buf *b, const struct acpi_mmio_dev *devs, unsigned ndev)
{
	struct sbx_buf sb = SBX_BUF_INIT, pkg = SBX_BUF_INIT;
	unsigned i;

	sbx_buf_add(&sb, "\\_SB_", 5);
	aml_com1(&sb);
	for (i = 0; i < ndev; i++)
		aml_virtio(&sb, i, &devs[i]);
	aml_wrap(b, "\x10", 1, &sb);	/* ScopeOp */

	sbx_buf_addch(&pkg, 2);		/* NumElements */
	aml_int(&pkg, ACPI_S5_TYPE);
	aml_int(&pkg, 0);
	sbx_buf_addch(b, 0x08);
	sbx_buf_add(b, "\\_S5_", 5);
	aml_wrap(b, "\x12", 1, &pkg);	/* PackageOp */
	sbx_buf_release(&sb);
	sbx_buf_release(&pkg);
}

/* ---- tables ---------------------------------------------------------- */

/* Generic Address Structure for a 1-byte system I/O register. */
static void
gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = 1;		/* SystemIO */
	p[1] = 8;		/* bit width */
	p[2] = 0;
	p[3] = 1;		/* byte access */
	put64(p + 4, port);
}

#define FADT_LEN 276
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12

static size_t
align16(size_t x)
{
	return (x + 15) & ~(size_t)15;
}

long
acpi_build(uint8_t *area, size_t size, uint64_t gpa, unsigned ncpu,
    const struct acpi_mmio_dev *devs, unsigned ndev, size_t offsets[4],
    struct sbx_err *e)
{
	struct sbx_buf aml = SBX_BUF_INIT;
	size_t rsdp = 0, xsdt, fadt, madt, dsdt, end, madt_len, dsdt_len;
	uint8_t *t;
	unsigned i;

	aml_dsdt(&aml, devs, ndev);
	madt_len = HDR_LEN + 8 + ncpu * MADT_LAPIC_LEN + MADT_IOAPIC_LEN;
	dsdt_len = HDR_LEN + aml.len;
	xsdt = align16(rsdp + 36);
	fadt = align16(xsdt + HDR_LEN + 2 * 8);
	madt = align16(fadt + FADT_LEN);
	dsdt = align16(madt + madt_len);
	end = dsdt + dsdt_len;
	if (end > size || ncpu == 0 || ncpu > 255) {
		sbx_buf_release(&aml);
		return sbx_err_set(e, SBX_EINVAL,
		    "ACPI tables for %u vCPUs and %u devices do not fit in "
		    "%zu bytes", ncpu, ndev, size);
	}
	memset(area, 0, end);

	/* RSDP */
	t = area + rsdp;
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, OEM_ID, 6);
	t[15] = 2;
	put32(t + 20, 36);
	put64(t + 24, gpa + xsdt);
	t[8] = checksum(t, 20);
	t[32] = checksum(t, 36);

	/* XSDT */
	t = area + xsdt;
	sdt_header(t, "XSDT", HDR_LEN + 16, 1);
	put64(t + HDR_LEN, gpa + fadt);
	put64(t + HDR_LEN + 8, gpa + madt);
	sdt_finish(t, HDR_LEN + 16);

	/* FADT: hardware-reduced, no legacy devices but COM1 */
	t = area + fadt;
	sdt_header(t, "FACP", FADT_LEN, 6);
	put32(t + 40, (uint32_t)(gpa + dsdt));
	put16(t + 109, 1 << 2 | 1 << 5);	/* no VGA, no CMOS RTC */
	put32(t + 112, 1 << 20 | 1 << 4 | 1 << 5); /* HW_REDUCED, PWR/SLP_BUTTON */
	t[131] = 0;				/* FADT minor version */
	put64(t + 140, gpa + dsdt);		/* X_DSDT */
	gas_io8(t + 244, ACPI_SLEEP_PORT);	/* SLEEP_CONTROL_REG */
	gas_io8(t + 256, ACPI_SLEEP_PORT);	/* SLEEP_STATUS_REG */
	memcpy(t + 268, "SBXVMM\0\0", 8);	/* hypervisor vendor */
	sdt_finish(t, FADT_LEN);

	/* MADT */
	t = area + madt;
	sdt_header(t, "APIC", madt_len, 5);
	put32(t + HDR_LEN, LAYOUT_LAPIC);
	put32(t + HDR_LEN + 4, 1);		/* PCAT_COMPAT: 8259s exist */
	for (i = 0; i < ncpu; i++) {
		uint8_t *l = t + HDR_LEN + 8 + i * MADT_LAPIC_LEN;

		l[0] = 0;
		l[1] = MADT_LAPIC_LEN;
		l[2] = i;			/* ACPI processor UID */
		l[3] = i;			/* APIC id */
		put32(l + 4, 1);		/* enabled */
	}
	{
		uint8_t *io = t + HDR_LEN + 8 + ncpu * MADT_LAPIC_LEN;

		io[0] = 1;
		io[1] = MADT_IOAPIC_LEN;
		io[2] = 0;			/* IOAPIC id */
		put32(io + 4, LAYOUT_IOAPIC);
		put32(io + 8, 0);		/* GSI base */
	}
	sdt_finish(t, madt_len);

	/* DSDT */
	t = area + dsdt;
	sdt_header(t, "DSDT", dsdt_len, 2);
	memcpy(t + HDR_LEN, aml.buf, aml.len);
	sdt_finish(t, dsdt_len);
	sbx_buf_release(&aml);

	if (offsets) {
		offsets[0] = xsdt;
		offsets[1] = fadt;
		offsets[2] = madt;
		offsets[3] = dsdt;
	}
	return (long)end;
}
