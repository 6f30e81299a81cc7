# Help: every exported cmdlet has a page in docs/en-US that documents exactly its parameters and
# shows an example, and Get-Help on the built package shows synopsis, syntax, every parameter and
# the examples. The cmdlet metadata comes from the compiled module (a clean pwsh imports it), so
# a new cmdlet or parameter without documentation fails here.
BeforeDiscovery {
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    Import-Module (Join-Path $Root 'docs/HelpMarkdown.psm1') -Force
    # The package build.ps1 made, else the module folder the Debug build lays out.
    $PackagePath = @($env:KGDBOE_PACKAGE,
        (Join-Path $Root 'out/KgdbOe'),
        (Join-Path $Root 'src/KgdbOe.PowerShell/bin/Release/netstandard2.0/KgdbOe'),
        (Join-Path $Root 'src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe')) |
        Where-Object { $_ -and (Test-Path (Join-Path $_ 'KgdbOe.psd1')) } | Select-Object -First 1
    if (-not $PackagePath) { throw 'Help.Tests: no built module found (run build.ps1 Build, or dotnet build src/KgdbOe.PowerShell)' }
    $Commands = @(Get-CompiledCmdletMetadata -ModulePath (Join-Path $PackagePath 'KgdbOe.psd1'))
}

BeforeAll {
    $Root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $DocsPath = Join-Path $Root 'docs/en-US'
    Import-Module (Join-Path $Root 'docs/HelpMarkdown.psm1') -Force
}

Describe 'Help pages' -Tag 'Help' {
    It 'exports the 29 cmdlets of the module' -TestCases @{ Exported = @($Commands.Name) } {
        $Exported.Count | Should -Be 29
    }

    It 'has a page for <_.Name>, documenting exactly its parameters, with an example' -ForEach $Commands {
        $problems = @(Get-HelpPageProblem -Command $_ -DocsPath $DocsPath)
        $problems | Should -BeNullOrEmpty -Because ($problems -join '; ')
    }

    It 'has an about_KgdbOe page' {
        $about = Get-Content -Raw (Join-Path $DocsPath 'about_KgdbOe.md')
        $about | Should -Match '(?m)^# SHORT DESCRIPTION'
        $about | Should -Match '(?m)^# LONG DESCRIPTION'
    }
}

Describe 'The page checks catch what is missing' -Tag 'Help' -ForEach @{ Command = ($Commands | Where-Object Name -eq 'Install-KgdboeModule') } {
    # The checks above must be able to fail: mutilate a copy of a good page and look.
    BeforeAll {
        $command = $Command
        $scratch = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-help-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $scratch | Out-Null
        $original = Get-Content -Raw (Join-Path $DocsPath 'Install-KgdboeModule.md')
        function Test-Mutilated([string] $Text) {
            Set-Content -LiteralPath (Join-Path $scratch 'Install-KgdboeModule.md') -Value $Text -NoNewline
            @(Get-HelpPageProblem -Command $command -DocsPath $scratch)
        }
    }
    AfterAll { Remove-Item -Recurse -Force $scratch -ErrorAction Ignore }

    It 'passes the real page' {
        Test-Mutilated $original | Should -BeNullOrEmpty
    }

    It 'reports a missing page' {
        Remove-Item (Join-Path $scratch '*') -ErrorAction Ignore
        @(Get-HelpPageProblem -Command $command -DocsPath $scratch) | Should -Match 'no page'
    }

    It 'reports an undocumented parameter' {
        $text = $original -replace '(?s)### -DebugPort\n.*?```\n\n', ''
        Test-Mutilated $text | Should -Match 'parameter -DebugPort is not documented'
    }

    It 'reports a parameter the cmdlet does not have' {
        $text = $original -replace '### CommonParameters', "### -NoSuchThing`nDoes nothing.`n`n### CommonParameters"
        Test-Mutilated $text | Should -Match 'documents -NoSuchThing'
    }

    It 'reports a page without examples' {
        $text = $original -replace '(?s)## EXAMPLES\n.*?## PARAMETERS', "## EXAMPLES`n`n## PARAMETERS"
        Test-Mutilated $text | Should -Match 'no example'
    }
}

Describe 'Get-Help on the built package' -Tag 'Help' -ForEach @{ Package = $PackagePath } {
    BeforeAll {
        # Use the package's own en-US help when build.ps1 made it; else generate it into a copy.
        $package = $Package
        $copy = $null
        if (-not (Test-Path (Join-Path $package 'en-US/KgdbOe.dll-Help.xml'))) {
            $copy = Join-Path ([IO.Path]::GetTempPath()) "kgdboe-pkg-$([guid]::NewGuid().ToString('N'))"
            Copy-Item -Recurse $package (Join-Path $copy 'KgdbOe')
            $package = Join-Path $copy 'KgdbOe'
            & (Join-Path $Root 'docs/Build-Help.ps1') -ModulePath $package -DocsPath $DocsPath -OutputPath (Join-Path $package 'en-US') 3>$null
        }
        # What Get-Help -Full shows, read in a clean pwsh that imported only the package.
        $shown = Invoke-CleanPwsh -Arguments @((Join-Path $package 'KgdbOe.psd1')) -Script @'
param([string] $Manifest)
$ErrorActionPreference = 'Stop'
Import-Module $Manifest
$result = foreach ($c in Get-Command -Module KgdbOe -CommandType Cmdlet) {
    $h = Get-Help $c.Name -Full
    [pscustomobject]@{
        Name = $c.Name
        Synopsis = "$($h.Synopsis)".Trim()
        SyntaxItems = @($h.syntax.syntaxItem).Count
        Parameters = @($h.parameters.parameter | ForEach-Object { "$($_.name)" })
        Examples = @($h.examples.example | Where-Object { "$($_.code)".Trim() }).Count
        Text = ($h | Out-String -Width 200)
    }
}
$about = Get-Help about_KgdbOe | Out-String
ConvertTo-Json -Depth 5 -InputObject ([pscustomobject]@{ Commands = @($result); About = $about })
'@
        $byName = @{}
        foreach ($s in $shown.Commands) { $byName[$s.Name] = $s }
    }
    AfterAll { if ($copy) { Remove-Item -Recurse -Force $copy -ErrorAction Ignore } }

    It 'Get-Help <_.Name> -Full shows synopsis, syntax, every parameter and examples' -ForEach $Commands {
        $h = $byName[$_.Name]
        $h | Should -Not -BeNullOrEmpty
        $page = ConvertFrom-HelpMarkdown -Path (Join-Path $DocsPath "$($_.Name).md")
        $h.Synopsis | Should -Be $page.Synopsis
        $h.SyntaxItems | Should -Be @($_.ParameterSets).Count
        foreach ($p in $_.ParameterNames) { $h.Parameters | Should -Contain $p }
        $h.Examples | Should -BeGreaterOrEqual 1
        $h.Text | Should -Match 'PARAMETERS'
    }

    It 'Get-Help about_KgdbOe shows the about topic' {
        $shown.About | Should -Match 'SHORT DESCRIPTION'
        $shown.About | Should -Match 'Install-KgdboeModule'
    }
}
