#!/usr/bin/env pwsh
<#
.SYNOPSIS
Generates the module's MAML help (KgdbOe.dll-Help.xml) and about topics from docs/en-US.

.DESCRIPTION
PlatyPS is not available, so this does its New-ExternalHelp step. SYNTAX and the facts about each
parameter (type, parameter sets, mandatory, position, pipeline input, aliases) come from the
compiled cmdlets, read with Get-Command in a clean pwsh: Get-Help does not fill them in for a
binary cmdlet, and the code is their truth. Prose comes from the markdown pages: synopsis,
description, parameter descriptions, examples, inputs, outputs, notes and links.
about_*.md pages become about_*.help.txt.

A cmdlet without a page, an undocumented parameter or a page without an example is reported as a
warning (the build goes on; tests/pester/Help.Tests.ps1 is the gate that fails).

.EXAMPLE
./docs/Build-Help.ps1 -ModulePath out/KgdbOe -DocsPath docs/en-US -OutputPath out/KgdbOe/en-US
#>
[CmdletBinding()]
param(
    # The built module: its folder (with KgdbOe.psd1), the .psd1 or the dll.
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string] $OutputPath
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'HelpMarkdown.psm1') -Force

$ModulePath = (Resolve-Path $ModulePath).Path
$DocsPath = (Resolve-Path $DocsPath).Path
if ((Test-Path $ModulePath -PathType Container)) {
    $manifest = Get-ChildItem $ModulePath -Filter '*.psd1' | Select-Object -First 1
    if ($manifest) { $ModulePath = $manifest.FullName }
}

$commands = Get-CompiledCmdletMetadata -ModulePath $ModulePath
if (-not $commands) { throw "Build-Help: $ModulePath exports no cmdlets" }

$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Write-Para([Xml.XmlWriter] $W, [string] $Text) {
    $paragraphs = @(if ($Text) { $Text -split "`n`n" } else { '' })
    foreach ($p in $paragraphs) { $W.WriteElementString('para', $maml, $p) }
}

function Write-Description([Xml.XmlWriter] $W, [string] $Text) {
    $W.WriteStartElement('description', $maml); Write-Para $W $Text; $W.WriteEndElement()
}

function Get-PipelineInputText($P) {
    $kinds = @(if ($P.ByValue) { 'ByValue' }; if ($P.ByPropertyName) { 'ByPropertyName' })
    if ($kinds) { "True ($($kinds -join ', '))" } else { 'False' }
}

function Write-Parameter([Xml.XmlWriter] $W, $P, $Doc) {
    $W.WriteStartElement('parameter', $command)
    $W.WriteAttributeString('required', $P.IsMandatory.ToString().ToLowerInvariant())
    $W.WriteAttributeString('variableLength', 'true')
    $wildcards = $Doc -and $Doc.Yaml.Contains('Accept wildcard characters') -and $Doc.Yaml['Accept wildcard characters'] -eq 'True'
    $W.WriteAttributeString('globbing', $wildcards.ToString().ToLowerInvariant())
    $W.WriteAttributeString('pipelineInput', (Get-PipelineInputText $P))
    $W.WriteAttributeString('position', $(if ($P.Position -ge 0) { "$($P.Position)" } else { 'named' }))
    $W.WriteAttributeString('aliases', $(if ($P.Aliases) { $P.Aliases -join ', ' } else { 'none' }))
    $W.WriteElementString('name', $maml, $P.Name)
    Write-Description $W $(if ($Doc) { $Doc.Description } else { '' })
    if (-not $P.IsSwitch) {
        $W.WriteStartElement('parameterValue', $command)
        $W.WriteAttributeString('required', 'true'); $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($P.TypeName); $W.WriteEndElement()
    }
    $W.WriteStartElement('type', $dev); $W.WriteElementString('name', $maml, $P.Type); $W.WriteElementString('uri', $maml, ''); $W.WriteEndElement()
    $default = if ($Doc -and $Doc.Yaml.Contains('Default value')) { $Doc.Yaml['Default value'] } else { 'None' }
    $W.WriteElementString('defaultValue', $dev, $default)
    $W.WriteEndElement()
}

# The order PowerShell itself shows: positional parameters by position, then the rest as declared.
function Get-SyntaxOrder($Parameters) {
    @($Parameters | Where-Object { $_.Position -ge 0 } | Sort-Object Position) + @($Parameters | Where-Object { $_.Position -lt 0 })
}

$problems = [Collections.Generic.List[string]]::new()
New-Item -ItemType Directory -Force $OutputPath | Out-Null
$helpFile = Join-Path $OutputPath 'KgdbOe.dll-Help.xml'
$settings = [Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [Text.UTF8Encoding]::new($false) }
$w = [Xml.XmlWriter]::Create($helpFile, $settings)
try {
    $w.WriteStartDocument()
    $w.WriteStartElement('helpItems', 'http://msh')
    $w.WriteAttributeString('schema', 'maml')
    foreach ($c in $commands) {
        $pagePath = Join-Path $DocsPath "$($c.Name).md"
        foreach ($problem in Get-HelpPageProblem -Command $c -DocsPath $DocsPath) { $problems.Add($problem) }
        if (-not (Test-Path $pagePath)) { continue }
        $page = ConvertFrom-HelpMarkdown -Path $pagePath

        $w.WriteStartElement('command', 'command', $command)
        $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
        $w.WriteAttributeString('xmlns', 'dev', $null, $dev)

        $w.WriteStartElement('details', $command)
        $w.WriteElementString('name', $command, $c.Name)
        $w.WriteElementString('verb', $command, $c.Verb)
        $w.WriteElementString('noun', $command, $c.Noun)
        Write-Description $w $page.Synopsis
        $w.WriteEndElement()

        Write-Description $w $page.Description

        # All parameters once, with the union of their facts across sets (for PARAMETERS).
        $all = [ordered]@{}
        $w.WriteStartElement('syntax', $command)
        $sets = @($c.ParameterSets | Sort-Object { -not $_.IsDefault }, Name)
        foreach ($s in $sets) {
            $w.WriteStartElement('syntaxItem', $command)
            $w.WriteElementString('name', $maml, $c.Name)
            foreach ($p in Get-SyntaxOrder $s.Parameters) {
                Write-Parameter $w $p $page.Parameters[$p.Name]
                if (-not $all.Contains($p.Name)) { $all[$p.Name] = $p }
            }
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('parameters', $command)
        foreach ($p in $all.Values) {
            Write-Parameter $w $p $page.Parameters[$p.Name]
        }
        $w.WriteEndElement()

        $w.WriteStartElement('inputTypes', $command)
        foreach ($t in $page.Inputs) {
            $w.WriteStartElement('inputType', $command)
            $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $t.Type); $w.WriteEndElement()
            Write-Description $w $t.Description
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('returnValues', $command)
        foreach ($t in $page.Outputs) {
            $w.WriteStartElement('returnValue', $command)
            $w.WriteStartElement('type', $dev); $w.WriteElementString('name', $maml, $t.Type); $w.WriteEndElement()
            Write-Description $w $t.Description
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('alertSet', $maml)
        $w.WriteStartElement('alert', $maml); Write-Para $w $page.Notes; $w.WriteEndElement()
        $w.WriteEndElement()

        $w.WriteStartElement('examples', $command)
        foreach ($e in $page.Examples) {
            $w.WriteStartElement('example', $command)
            $w.WriteElementString('title', $maml, "-------------------------- $($e.Title) --------------------------")
            $w.WriteElementString('code', $dev, $e.Code)
            $w.WriteStartElement('remarks', $dev); Write-Para $w $e.Remarks; $w.WriteEndElement()
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteStartElement('relatedLinks', $command)
        foreach ($l in $page.Links) {
            $w.WriteStartElement('navigationLink', $maml)
            $w.WriteElementString('linkText', $maml, $l.Text)
            $w.WriteElementString('uri', $maml, $l.Uri)
            $w.WriteEndElement()
        }
        $w.WriteEndElement()

        $w.WriteEndElement() # command
    }
    $w.WriteEndElement()
    $w.WriteEndDocument()
} finally {
    $w.Dispose()
}

# About topics: the markdown headings become the upper-case section titles Get-Help shows,
# the text is indented under them.
foreach ($about in Get-ChildItem $DocsPath -Filter 'about_*.md') {
    $text = [Text.StringBuilder]::new()
    $inFence = $false
    foreach ($line in Get-Content -LiteralPath $about.FullName) {
        if ($line -match '^```') { $inFence = -not $inFence; continue }
        if (-not $inFence -and $line -match '^#{1,2} (.+)$') {
            $heading = $Matches[1].Trim()
            if ($heading -match '^about_') {
                if ($text.Length -eq 0) { [void]$text.AppendLine('TOPIC').AppendLine("    $heading") }
                continue
            }
            [void]$text.AppendLine().AppendLine($heading.ToUpperInvariant())
        } elseif ($line.Trim()) {
            [void]$text.AppendLine("    $line")
        } else {
            [void]$text.AppendLine()
        }
    }
    $target = Join-Path $OutputPath ($about.BaseName + '.help.txt')
    Set-Content -LiteralPath $target -Value ($text.ToString() -replace "(`r?`n){3,}", "`n`n") -Encoding utf8NoBOM
}

foreach ($problem in $problems) { Write-Warning "Build-Help: $problem" }
Write-Verbose "Build-Help: wrote $helpFile for $(@($commands).Count) cmdlets"
