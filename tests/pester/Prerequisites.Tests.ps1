# What Bootstrap checks on the machine (build/Prerequisites.psm1), without a VM: dpkg's three
# answers for a package that is not installed, every prerequisite judged by its effect (a command
# on PATH, a file), and the message that names what is missing and its package.
#
# The old Bootstrap (before 4d508a9) asked dpkg only and took a package dpkg never heard of for
# installed: on a fresh Debian machine it skipped linux-source-6.12, qemu-system-x86 and the rest.
# The last Describe runs that old predicate beside the new detection.
BeforeAll {
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $Root 'build/Prerequisites.psm1') -Force
    # A name no Debian archive has: dpkg-query answers it with nothing at all and exit 1.
    $script:NeverHeardOf = "kgdboe-no-such-package-$PID"
}

Describe 'dpkg status answers' -Tag 'Check', 'Prerequisites' {
    It 'takes <Case> for not installed' -TestCases @(
        @{ Case = 'no answer at all (exit 1, a package dpkg never heard of)'; Status = $null; ExitCode = 1 }
        @{ Case = 'an empty answer (exit 1)'; Status = ''; ExitCode = 1 }
        @{ Case = '"unknown ok not-installed" (known, never installed)'; Status = 'unknown ok not-installed'; ExitCode = 0 }
        @{ Case = '"deinstall ok config-files" (removed, conffiles kept)'; Status = 'deinstall ok config-files'; ExitCode = 0 }
        @{ Case = '"install ok half-configured"'; Status = 'install ok half-configured'; ExitCode = 0 }
    ) {
        ConvertFrom-DpkgStatus -Status $Status -ExitCode $ExitCode | Should -BeFalse
    }

    It 'takes "install ok installed" (exit 0) for installed' {
        ConvertFrom-DpkgStatus -Status 'install ok installed' -ExitCode 0 | Should -BeTrue
    }

    It 'asks the real dpkg: a package it never heard of is not installed' {
        # The real answer first, so the case above is the real one.
        $out = & dpkg-query -W -f '${Status}' $script:NeverHeardOf 2>$null
        $LASTEXITCODE | Should -Be 1
        $out | Should -BeNullOrEmpty
        Test-DebianPackageInstalled -Name $script:NeverHeardOf | Should -BeFalse
    }

    It 'asks the real dpkg: dpkg itself is installed' {
        Test-DebianPackageInstalled -Name 'dpkg' | Should -BeTrue
    }
}

Describe 'Prerequisites judged by their effect' -Tag 'Check', 'Prerequisites' {
    BeforeAll {
        $script:Rows = @(
            [pscustomobject]@{ Package = 'kgdboe-fake-tools'; Kind = 'Command'; Effect = "kgdboe-no-such-command-$PID"; For = 'a test' }
            [pscustomobject]@{ Package = 'kgdboe-fake-data'; Kind = 'File'; Effect = "/nonexistent/kgdboe-$PID.tar.xz"; For = 'a test' }
            [pscustomobject]@{ Package = 'dash'; Kind = 'Command'; Effect = 'sh'; For = 'a test' }
            [pscustomobject]@{ Package = 'base-files'; Kind = 'File'; Effect = '/etc/debian_version'; For = 'a test' }
        )
    }

    It 'lists a command that is not on PATH and a file that does not exist, and only those' {
        $missing = @(Get-MissingPrerequisite -Prerequisite $script:Rows)
        $missing.Effect | Should -Be @("kgdboe-no-such-command-$PID", "/nonexistent/kgdboe-$PID.tar.xz")
    }

    It 'finds a command in /usr/sbin even when PATH lacks it' {
        $path = $env:PATH
        try {
            $env:PATH = '/nonexistent'
            [pscustomobject]@{ Package = 'dpkg'; Kind = 'Command'; Effect = 'start-stop-daemon'; For = 'a test' } |
                Test-PrerequisiteEffect | Should -BeTrue
        } finally { $env:PATH = $path }
    }

    It 'rejects a row of an unknown kind' {
        { [pscustomobject]@{ Package = 'x'; Kind = 'Service'; Effect = 'x'; For = 'a test' } | Test-PrerequisiteEffect } |
            Should -Throw '*Unknown prerequisite kind*'
    }

    It 'has a package and a Command or File effect in every row of the table' {
        $table = @(Get-KgdbOePrerequisite)
        $table.Count | Should -BeGreaterThan 20
        foreach ($row in $table) {
            $row.Package | Should -Match '^[a-z0-9][a-z0-9.+-]+$' -Because "row $($row.Effect)"
            $row.Kind | Should -BeIn 'Command', 'File' -Because "row $($row.Effect)"
            $row.Effect | Should -Not -BeNullOrEmpty
            $row.For | Should -Not -BeNullOrEmpty
            if ($row.Kind -eq 'File') { $row.Effect | Should -Match '^/' -Because 'a file effect is an absolute path' }
        }
    }

    It 'names the missing effect and its package when it may not install (not root)' {
        # Bootstrap as a normal user: `id -u` answers 1000, so apt-get is never tried.
        Mock -ModuleName Prerequisites id { '1000' }
        Mock -ModuleName Prerequisites apt-get { throw 'apt-get must not run' }
        { Install-KgdbOePrerequisite -Prerequisite $script:Rows } |
            Should -Throw "*kgdboe-no-such-command-$PID (package kgdboe-fake-tools*/nonexistent/kgdboe-$PID.tar.xz (package kgdboe-fake-data*apt-get install kgdboe-fake-tools kgdboe-fake-data*"
        Should -Invoke -ModuleName Prerequisites id -Times 1 -Exactly
        Should -Invoke -ModuleName Prerequisites apt-get -Times 0 -Exactly
    }

    It 'is quiet when every effect is there' {
        Mock -ModuleName Prerequisites apt-get { throw 'apt-get must not run' }
        { Install-KgdbOePrerequisite -Prerequisite ($script:Rows | Select-Object -Last 2) } | Should -Not -Throw
        Should -Invoke -ModuleName Prerequisites apt-get -Times 0 -Exactly
    }

    It 'checks again after apt-get and names what is still missing' {
        # Root on Debian, but apt-get cannot provide the made-up package.
        Mock -ModuleName Prerequisites id { '0' }
        Mock -ModuleName Prerequisites apt-get {
            if ($args -contains 'update') { $global:LASTEXITCODE = 0; return }
            $global:LASTEXITCODE = 100; 'E: Unable to locate package kgdboe-fake-tools'
        }
        $frontend = $env:DEBIAN_FRONTEND
        try {
            { Install-KgdbOePrerequisite -Prerequisite ($script:Rows | Select-Object -First 1) 6>$null } |
                Should -Throw "bootstrap: still missing after apt-get: kgdboe-no-such-command-$PID (package kgdboe-fake-tools*"
        } finally { $env:DEBIAN_FRONTEND = $frontend }
        Should -Invoke -ModuleName Prerequisites apt-get -ParameterFilter { $args -contains 'install' -and $args -contains 'kgdboe-fake-tools' } -Times 1 -Exactly
    }
}

Describe 'The old Bootstrap predicate against the new detection' -Tag 'Check', 'Prerequisites' {
    BeforeAll {
        # OLD CODE, copied verbatim from build.ps1 before 4d508a9 (function Invoke-Bootstrap), run
        # under build.ps1's settings. Kept here as the evidence of the bug, not used anywhere else.
        $script:OldMissingPackages = {
            param([string[]] $AptPackages)
            Set-StrictMode -Version Latest
            $ErrorActionPreference = 'Stop'
            # --- old code ---
            $missing = @($AptPackages | Where-Object {
                    $status = & dpkg-query -W -f '${Status}' $_ 2>$null
                    $status -notmatch 'install ok installed'
                })
            # --- end of old code ---
            $missing
        }
    }

    It 'the OLD predicate takes a package dpkg never heard of for installed (the bug)' {
        # Why: a native command that prints nothing yields AutomationNull, not $null; a comparison
        # operator treats AutomationNull as an empty collection and returns an empty array, which
        # Where-Object takes for false. (`$null -notmatch 'x'` would be true.)
        $old = @(& $script:OldMissingPackages -AptPackages $script:NeverHeardOf, 'dpkg')
        $old | Should -Not -Contain $script:NeverHeardOf -Because 'this is the old bug: it did not list the package as missing'
        $old.Count | Should -Be 0
    }

    It 'the new detection reports the same package missing, by dpkg and by effect' {
        Test-DebianPackageInstalled -Name $script:NeverHeardOf | Should -BeFalse
        $row = [pscustomobject]@{ Package = $script:NeverHeardOf; Kind = 'File'; Effect = "/usr/src/$($script:NeverHeardOf).tar.xz"; For = 'a test' }
        @(Get-MissingPrerequisite -Prerequisite $row).Package | Should -Be $script:NeverHeardOf
    }

    It 'the mechanism: an empty native result is AutomationNull, and -notmatch on it is an empty array' {
        $status = & dpkg-query -W -f '${Status}' $script:NeverHeardOf 2>$null
        [object]::ReferenceEquals($status, [System.Management.Automation.Internal.AutomationNull]::Value) | Should -BeTrue
        $verdict = $status -notmatch 'install ok installed'
        , $verdict | Should -BeOfType [object[]]
        @($verdict).Count | Should -Be 0
        [bool]$verdict | Should -BeFalse
        ($null -notmatch 'install ok installed') | Should -BeTrue -Because 'a real $null would have been caught'
    }
}
