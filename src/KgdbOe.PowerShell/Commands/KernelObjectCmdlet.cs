using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using KgdbOe.Kernel;
using KgdbOe.Types;

namespace KgdbOe.PowerShell.Commands
{
    /// <summary>
    /// The base of the cmdlets that read typed kernel objects: the session's types (BTF, loaded once per session) and a
    /// <see cref="KernelContext"/> over them, and one translation of the typed-read failures into stable error ids
    /// (KgdbOe.TypeNotFound, .MemberNotFound, .BadPointer, .ListCycle, .UnknownSymbol, .BadArgument); protocol failures
    /// keep the ids every cmdlet gives them (a running kernel: KgdbOe.InvalidState).
    /// </summary>
    public abstract class KernelObjectCmdlet : KernelTargetCmdlet
    {
        /// <summary>A context for one record: the session's types and memory. Cheap; the types are the session's.</summary>
        protected KernelContext GetContext(KernelTargetSession session)
        {
            BtfTypeGraph types = Kernel(session, session, ct => session.GetTypesAsync(ct));
            return new KernelContext(types, new ClientKernelMemory(session.Client), session.Symbols);
        }

        /// <summary>Runs typed-read work, turning its failures into error records about <paramref name="errorTarget"/>.</summary>
        protected T Kernel<T>(KernelTargetSession session, object? errorTarget, Func<CancellationToken, Task<T>> operation)
        {
            try
            {
                return Await(operation);
            }
            catch (Exception e) when (!(e is PipelineStoppedException) && !(e is KgdbOeErrorException) && Translate(e, errorTarget ?? session) is ErrorRecord record)
            {
                throw new KgdbOeErrorException(record);
            }
        }

        /// <summary>Runs synchronous typed work (decoding, layout lookups) with the same translation.</summary>
        protected T Kernel<T>(KernelTargetSession session, object? errorTarget, Func<T> operation) =>
            Kernel(session, errorTarget, _ => Task.FromResult(operation()));

        protected override ErrorRecord? TranslateException(Exception e) => Translate(e, null) ?? base.TranslateException(e);

        /// <summary>The error record for a typed-read failure, or null when it is none of ours.</summary>
        internal static ErrorRecord? Translate(Exception e, object? target)
        {
            switch (e)
            {
                case KernelTypeNotFoundException t:
                    return new ErrorRecord(new ItemNotFoundException(t.Message, t), KgdbOeErrorId.TypeNotFound, ErrorCategory.ObjectNotFound, t.TypeName);
                case KernelMemberNotFoundException m:
                    return new ErrorRecord(new ItemNotFoundException(m.Message, m), KgdbOeErrorId.MemberNotFound, ErrorCategory.ObjectNotFound, m.Target);
                case KernelBadPointerException p:
                    return new ErrorRecord(p, KgdbOeErrorId.BadPointer, ErrorCategory.ReadError, p.Target);
                case KernelListCycleException c:
                    return new ErrorRecord(c, KgdbOeErrorId.ListCycle, ErrorCategory.InvalidData, c.Target);
                case KernelSymbolNotFoundException s:
                    return new ErrorRecord(new ItemNotFoundException(s.Message, s), KgdbOeErrorId.UnknownSymbol, ErrorCategory.ObjectNotFound, s.Symbol);
                case KernelLayoutException l:
                    return new ErrorRecord(new ArgumentException(l.Message, l), KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, l.Target);
                case ArgumentOutOfRangeException r:
                    return new ErrorRecord(new ArgumentException(r.Message, r), KgdbOeErrorId.BadArgument, ErrorCategory.InvalidArgument, r.ActualValue ?? target);
                default:
                    return target == null ? null : RemoteErrors.ToErrorRecord(e, target, ErrorCategory.ReadError);
            }
        }
    }
}
