using System.Collections.Generic;
using System.Linq;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace KgdbOe.PowerShell
{
    /// <summary>
    /// The sessions opened in one runspace. Each runspace has its own registry, so parallel
    /// runspaces never share a default target; the registry goes away with its runspace.
    /// </summary>
    internal sealed class SessionRegistry
    {
        private static readonly ConditionalWeakTable<Runspace, SessionRegistry> PerRunspace =
            new ConditionalWeakTable<Runspace, SessionRegistry>();

        private readonly List<KernelTargetSession> _sessions = new List<KernelTargetSession>();
        private readonly object _lock = new object();

        /// <summary>The registry of the runspace running the current pipeline.</summary>
        public static SessionRegistry Current
        {
            get
            {
                Runspace runspace = Runspace.DefaultRunspace;
                return PerRunspace.GetValue(runspace, r =>
                {
                    var registry = new SessionRegistry();
                    // Close connections with the runspace, so no socket outlives its shell.
                    r.StateChanged += (_, e) =>
                    {
                        if (e.RunspaceStateInfo.State == RunspaceState.Closed || e.RunspaceStateInfo.State == RunspaceState.Broken)
                            registry.CloseAll();
                    };
                    return registry;
                });
            }
        }

        /// <summary>The newest open session: the target of a cmdlet called without -Target.</summary>
        public KernelTargetSession? Default
        {
            get { lock (_lock) return _sessions.LastOrDefault(s => !s.IsClosed); }
        }

        public IReadOnlyList<KernelTargetSession> Sessions
        {
            get { lock (_lock) return _sessions.Where(s => !s.IsClosed).ToList(); }
        }

        public void Add(KernelTargetSession session)
        {
            lock (_lock) _sessions.Add(session);
        }

        public void Remove(KernelTargetSession session)
        {
            lock (_lock) _sessions.Remove(session);
        }

        /// <summary>Detaches and closes every session: the runspace or the module is going away.</summary>
        public void CloseAll()
        {
            List<KernelTargetSession> all;
            lock (_lock)
            {
                all = _sessions.ToList();
                _sessions.Clear();
            }
            foreach (KernelTargetSession session in all) session.Close();
        }
    }
}
