# Packages. `make deb` and `make rpm` build from the `make dist` tarball,
# unpacked in a scratch directory, and leave the packages in packages/.
# The test suite runs separately (make check), so both skip it.
# tests/packaging/test-packages.sh builds, installs and removes them.
DEBIAN_FILES = \
	packaging/debian/changelog \
	packaging/debian/clean \
	packaging/debian/control \
	packaging/debian/copyright \
	packaging/debian/postinst \
	packaging/debian/postrm \
	packaging/debian/rules \
	packaging/debian/source/format \
	packaging/debian/turnpike.docs \
	packaging/debian/turnpike.lintian-overrides
EXTRA_DIST += $(DEBIAN_FILES) \
	packaging/turnpike.conf \
	packaging/turnpike.sysusers \
	packaging/turnpiked.service \
	packaging/turnpike-metrics.service \
	packaging/rpm/turnpike.spec \
	packaging/rpm/turnpike.rpmlintrc \
	tests/packaging/test-packages.sh

PACKAGES_DIR = packages

# Shell text: fails unless $$v, the version packaging file $$f gives, is
# configure's.
packaging_check_version = \
	if [ "$$v" != '$(VERSION)' ]; then \
		echo "$$f says $$v, configure.ac $(VERSION): update $$f" >&2; \
		exit 1; \
	fi

deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || { \
		echo 'make deb: needs dpkg-dev, debhelper and fakeroot' \
		     '(apt-get install dpkg-dev debhelper fakeroot)' >&2; exit 1; }
	@f='$(srcdir)/packaging/debian/changelog'; \
	v=$$(sed -n '1s/^[^(]*(\([^)]*\)-[^-)]*).*/\1/p' "$$f"); \
	$(packaging_check_version)
	$(MAKE) $(AM_MAKEFLAGS) dist-gzip
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp $(distdir).tar.gz "$$tmp/$(PACKAGE)_$(VERSION).orig.tar.gz" && \
	tar -C "$$tmp" -xzf $(distdir).tar.gz && \
	cp -R "$$tmp/$(distdir)/packaging/debian" "$$tmp/$(distdir)/debian" && \
	(cd "$$tmp/$(distdir)" && \
	 DEB_BUILD_OPTIONS="nocheck $$DEB_BUILD_OPTIONS" \
	 dpkg-buildpackage -us -uc -b -Pnocheck) && \
	mkdir -p $(PACKAGES_DIR) && \
	rm -f $(PACKAGES_DIR)/$(PACKAGE)_*.deb $(PACKAGES_DIR)/$(PACKAGE)-dbgsym_*.deb && \
	cp "$$tmp"/*.deb "$$tmp"/*.buildinfo "$$tmp"/*.changes $(PACKAGES_DIR)/
	@ls -1 $(PACKAGES_DIR)/$(PACKAGE)_$(VERSION)-*.deb

# rpmbuild checks BuildRequires against the rpm database, which a Debian
# machine leaves empty: there the build dependencies are Debian's.
rpm:
	@command -v rpmbuild >/dev/null || { \
		echo 'make rpm: needs rpmbuild (apt-get install rpm, or dnf install rpm-build)' >&2; \
		exit 1; }
	@f='$(srcdir)/packaging/rpm/turnpike.spec'; \
	v=$$(sed -n 's/^Version:[[:space:]]*//p' "$$f"); \
	$(packaging_check_version)
	$(MAKE) $(AM_MAKEFLAGS) dist-gzip
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	nodeps= && { rpm -q rpm >/dev/null 2>&1 || nodeps=--nodeps; } && \
	mkdir -p "$$tmp/SOURCES" && cp $(distdir).tar.gz "$$tmp/SOURCES/" && \
	rpmbuild --define "_topdir $$tmp" --without check --nocheck $$nodeps \
		-bb '$(srcdir)/packaging/rpm/turnpike.spec' && \
	mkdir -p $(PACKAGES_DIR) && \
	rm -f $(PACKAGES_DIR)/$(PACKAGE)-*.rpm && \
	cp "$$tmp"/RPMS/*/*.rpm $(PACKAGES_DIR)/
	@ls -1 $(PACKAGES_DIR)/$(PACKAGE)-$(VERSION)-*.rpm

clean-local: clean-packages
clean-packages:
	rm -rf $(PACKAGES_DIR)

.PHONY: deb rpm clean-packages
