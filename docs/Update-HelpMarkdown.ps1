#!/usr/bin/env pwsh
<#
.SYNOPSIS
Brings docs/en-US/<Cmdlet>.md in line with the compiled cmdlets (PlatyPS's Update-MarkdownHelp).

.DESCRIPTION
For every cmdlet the module exports: rewrites ## SYNTAX and each parameter's yaml block from the
compiled metadata, adds a section for a new parameter, drops the section of a parameter that no
longer exists, and creates a page for a new cmdlet. Prose written by hand (synopsis,
description, examples, parameter descriptions, default values, inputs, outputs, notes, links) is
kept. Text still missing is seeded from the cmdlet's C# doc comments when -SourcePath is given,
else left as a {{ placeholder }} that tests/pester/Help.Tests.ps1 rejects.

.EXAMPLE
./docs/Update-HelpMarkdown.ps1 -ModulePath src/KgdbOe.PowerShell/bin/Debug/netstandard2.0/KgdbOe -SourcePath src/KgdbOe.PowerShell/Commands
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $DocsPath = (Join-Path $PSScriptRoot 'en-US'),
    # The cmdlet classes, for seeding descriptions from their /// <summary> comments.
    [string] $SourcePath
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'HelpMarkdown.psm1') -Force

$CommonParametersText = 'This cmdlet supports the common parameters: -Debug, -ErrorAction, -ErrorVariable, -InformationAction, -InformationVariable, -OutVariable, -OutBuffer, -PipelineVariable, -ProgressAction, -Verbose, -WarningAction, and -WarningVariable. For more information, see [about_CommonParameters](http://go.microsoft.com/fwlink/?LinkID=113216).'

function Get-RawSection([string[]] $Lines, [int] $Level) {
    # heading -> body lines, for headings of exactly this level (fenced code is not a heading).
    $sections = [ordered]@{}
    $name = $null
    $inFence = $false
    foreach ($l in $Lines) {
        if ($l -match '^```') { $inFence = -not $inFence }
        if (-not $inFence -and $l -match "^#{$Level} (.+)$" -and $l -notmatch "^#{$($Level + 1)}") {
            $name = $Matches[1].Trim(); $sections[$name] = [Collections.Generic.List[string]]::new(); continue
        }
        if ($null -ne $name) { $sections[$name].Add($l) }
    }
    $sections
}

function Format-Body($Lines) {
    # Trim blank lines at both ends.
    $a = @($Lines)
    while ($a.Count -and -not $a[0].Trim()) { $a = @($a | Select-Object -Skip 1) }
    while ($a.Count -and -not $a[-1].Trim()) { $a = @($a | Select-Object -SkipLast 1) }
    $a
}

function Get-SourceSeed([string] $CommandName) {
    # Class and property /// <summary> comments and property initializers of the cmdlet's class.
    $seed = @{ Summary = $null; Parameters = @{}; Defaults = @{} }
    if (-not $SourcePath) { return $seed }
    $file = Join-Path $SourcePath (($CommandName -replace '-', '') + 'Command.cs')
    if (-not (Test-Path $file)) { return $seed }
    $text = Get-Content -Raw $file
    $summary = [regex]::Match($text, '(?s)((?:[ \t]*///[^\n]*\n)+)\s*\[Cmdlet\(')
    if ($summary.Success) { $seed.Summary = ConvertFrom-DocComment $summary.Groups[1].Value }
    $props = [regex]::Matches($text, '(?s)((?:[ \t]*///[^\n]*\n)*)((?:[ \t]*\[[^\n]*\]\s*\n)+)[ \t]*public\s+[\w<>\[\]?.,]+\s+(\w+)\s*\{\s*get;\s*set;\s*\}(\s*=\s*([^;]+);)?')
    foreach ($m in $props) {
        $name = $m.Groups[3].Value
        if ($m.Groups[1].Value) { $seed.Parameters[$name] = ConvertFrom-DocComment $m.Groups[1].Value }
        $init = $m.Groups[5].Value.Trim()
        if ($init -and $init -notin '""', 'null!', 'null', '"".ToString()') { $seed.Defaults[$name] = $init.Trim('"') -replace '^TransportKind\.', '' }
    }
    $seed
}

function ConvertFrom-DocComment([string] $Comment) {
    $t = ($Comment -split "`n" | ForEach-Object { ($_ -replace '^\s*///\s?', '').Trim() }) -join ' '
    $t = $t -replace '</?summary>', '' -replace '<see cref="[^"]*?\.?(\w+)"\s*/>', '$1' -replace '<paramref name="(\w+)"\s*/>', '-$1' -replace '<c>|</c>', '`'
    ($t -replace '\s+', ' ').Trim()
}

function Format-SyntaxLine($Command, $Set) {
    $parts = foreach ($p in @($Set.Parameters | Where-Object { $_.Position -ge 0 } | Sort-Object Position) + @($Set.Parameters | Where-Object { $_.Position -lt 0 })) {
        $value = if ($p.IsSwitch) { '' } else { " <$($p.TypeName)>" }
        $name = if ($p.Position -ge 0 -and -not $p.IsSwitch) { "[-$($p.Name)]" } else { "-$($p.Name)" }
        if ($p.IsMandatory) { "$name$value" } else { "[$name$value]" }
    }
    ((@($Command.Name) + @($parts) + '[<CommonParameters>]') -join ' ')
}

function Format-ParameterYaml($Command, [string] $Name, [string] $Default) {
    # One block per distinct set of facts, as PlatyPS writes them.
    $uses = foreach ($s in $Command.ParameterSets) {
        $p = $s.Parameters | Where-Object Name -eq $Name
        if ($p) { [pscustomobject]@{ Set = $s.Name; P = $p; Key = "$($p.IsMandatory)|$($p.Position)|$($p.ByValue)|$($p.ByPropertyName)" } }
    }
    $groups = @($uses | Group-Object Key)
    $allSets = @($Command.ParameterSets).Count
    foreach ($g in $groups) {
        $p = $g.Group[0].P
        $sets = if ($groups.Count -eq 1 -and @($g.Group).Count -eq $allSets) { '(All)' } else { ($g.Group.Set | Sort-Object) -join ', ' }
        $pipeline = @(if ($p.ByValue) { 'ByValue' }; if ($p.ByPropertyName) { 'ByPropertyName' })
        @(
            '```yaml'
            "Type: $($p.TypeName)"
            "Parameter Sets: $sets"
            "Aliases: $(if ($p.Aliases) { $p.Aliases -join ', ' })".TrimEnd()
            ''
            "Required: $($p.IsMandatory)"
            "Position: $(if ($p.Position -ge 0) { $p.Position } else { 'Named' })"
            "Default value: $Default"
            "Accept pipeline input: $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' })"
            'Accept wildcard characters: False'
            '```'
            ''
        )
    }
}

$manifest = if (Test-Path $ModulePath -PathType Container) { Get-ChildItem $ModulePath -Filter '*.psd1' | Select-Object -First 1 -ExpandProperty FullName } else { $ModulePath }
$commands = Get-CompiledCmdletMetadata -ModulePath $manifest
New-Item -ItemType Directory -Force $DocsPath | Out-Null

foreach ($c in $commands) {
    $path = Join-Path $DocsPath "$($c.Name).md"
    $lines = if (Test-Path $path) { @(Get-Content $path) } else { @() }
    $h2 = Get-RawSection $lines 2
    $params = if ($h2.Contains('PARAMETERS')) { Get-RawSection $h2['PARAMETERS'] 3 } else { [ordered]@{} }
    $seed = Get-SourceSeed $c.Name

    function Get-Kept([string] $Section, [string[]] $Fallback) {
        if ($h2.Contains($Section)) { $body = @(Format-Body $h2[$Section]); if ($body.Count) { return $body } }
        $Fallback
    }

    $out = [Collections.Generic.List[string]]::new()
    $out.AddRange([string[]]@('---', 'external help file: KgdbOe.dll-Help.xml', 'Module Name: KgdbOe', 'online version:', 'schema: 2.0.0', '---', '', "# $($c.Name)", ''))
    $out.Add('## SYNOPSIS')
    $out.AddRange([string[]]@(Get-Kept 'SYNOPSIS' @($(if ($seed.Summary) { ($seed.Summary -split '(?<=\.)\s')[0] } else { "{{ Fill in the Synopsis }}" }))))
    $out.AddRange([string[]]@('', '## SYNTAX', ''))
    foreach ($s in @($c.ParameterSets | Sort-Object { -not $_.IsDefault }, Name)) {
        $title = if ($s.Name -eq '__AllParameterSets') { 'All' } elseif ($s.IsDefault -and @($c.ParameterSets).Count -gt 1) { "$($s.Name) (Default)" } else { $s.Name }
        $out.AddRange([string[]]@("### $title", '```', (Format-SyntaxLine $c $s), '```', ''))
    }
    $out.Add('## DESCRIPTION')
    $out.AddRange([string[]]@(Get-Kept 'DESCRIPTION' @($(if ($seed.Summary) { $seed.Summary } else { '{{ Fill in the Description }}' }))))
    $out.AddRange([string[]]@('', '## EXAMPLES', ''))
    $out.AddRange([string[]]@(Get-Kept 'EXAMPLES' @('### Example 1', '```powershell', "PS> {{ Add example code here }}", '```', '', '{{ Add example description here }}')))
    $out.AddRange([string[]]@('', '## PARAMETERS', ''))
    foreach ($name in $c.ParameterNames) {
        $existing = if ($params.Contains("-$name")) { @(Format-Body $params["-$name"]) } else { @() }
        $description = @()
        $default = $null
        $inFence = $false
        foreach ($l in $existing) {
            if ($l -match '^```') { $inFence = -not $inFence; continue }
            if ($inFence) { if ($l -match '^Default value:\s*(.*)$') { $default = $Matches[1].Trim() } }
            else { $description += $l }
        }
        $description = @(Format-Body $description)
        if (-not $description) {
            $description = @($(
                    if ($name -eq 'WhatIf') { 'Shows what would happen if the cmdlet runs. The cmdlet is not run.' }
                    elseif ($name -eq 'Confirm') { 'Prompts you for confirmation before running the cmdlet.' }
                    elseif ($seed.Parameters[$name]) { $seed.Parameters[$name] }
                    else { "{{ Fill $name Description }}" }))
        }
        if (-not $default) { $default = if ($seed.Defaults[$name]) { $seed.Defaults[$name] } else { 'None' } }
        $isSwitch = @($c.ParameterSets.Parameters | Where-Object { $_.Name -eq $name -and $_.IsSwitch }).Count -gt 0
        if ($isSwitch -and $default -eq 'None') { $default = 'False' }
        $out.Add("### -$name")
        $out.AddRange([string[]]$description)
        $out.Add('')
        $out.AddRange([string[]]@(Format-ParameterYaml $c $name $default))
    }
    foreach ($gone in @($params.Keys | Where-Object { $_ -ne 'CommonParameters' -and ($_ -replace '^-', '') -notin $c.ParameterNames })) {
        Write-Warning "$($c.Name): dropped the section of $gone, which the cmdlet no longer has"
    }
    $out.AddRange([string[]]@('### CommonParameters', $CommonParametersText, '', '## INPUTS', ''))
    $inputs = @($c.ParameterSets.Parameters | Where-Object ByValue | ForEach-Object Type | Select-Object -Unique)
    $out.AddRange([string[]]@(Get-Kept 'INPUTS' @($(if ($inputs) { foreach ($t in $inputs) { "### $t"; '' } } else { '### None'; '' }))))
    $out.AddRange([string[]]@('', '## OUTPUTS', ''))
    $out.AddRange([string[]]@(Get-Kept 'OUTPUTS' @($(if ($c.OutputTypes) { foreach ($t in $c.OutputTypes) { "### $t"; '' } } else { '### None'; '' }))))
    $out.AddRange([string[]]@('', '## NOTES', ''))
    $out.AddRange([string[]]@(Get-Kept 'NOTES' @()))
    $out.AddRange([string[]]@('', '## RELATED LINKS', ''))
    $out.AddRange([string[]]@(Get-Kept 'RELATED LINKS' @('[about_KgdbOe](about_KgdbOe.md)')))
    $text = (($out -join "`n") -replace "`n{3,}", "`n`n").TrimEnd() + "`n"
    Set-Content -LiteralPath $path -Value $text -NoNewline -Encoding utf8NoBOM
    Write-Verbose "updated $path"
}
