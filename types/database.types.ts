export type Json =
  | string
  | number
  | boolean
  | null
  | { [key: string]: Json | undefined }
  | Json[]

export type Database = {
  // Allows to automatically instantiate createClient with right options
  // instead of createClient<Database, { PostgrestVersion: 'XX' }>(URL, KEY)
  __InternalSupabase: {
    PostgrestVersion: "12"
  }
  flashcards: {
    Tables: {
      ai_generation_sessions: {
        Row: {
          accepted_edited_count: number
          accepted_unedited_count: number
          candidates_count: number
          completion_tokens: number | null
          created_at: string
          duration_ms: number | null
          error_code: string | null
          finished_at: string | null
          id: string
          input_hash: string
          input_text: string
          model: string
          prompt_tokens: number | null
          quota_reservation_id: string | null
          rejected_count: number
          status: Database["flashcards"]["Enums"]["generation_status"]
          user_id: string
        }
        Insert: {
          accepted_edited_count?: number
          accepted_unedited_count?: number
          candidates_count?: number
          completion_tokens?: number | null
          created_at?: string
          duration_ms?: number | null
          error_code?: string | null
          finished_at?: string | null
          id?: string
          input_hash: string
          input_text: string
          model: string
          prompt_tokens?: number | null
          quota_reservation_id?: string | null
          rejected_count?: number
          status?: Database["flashcards"]["Enums"]["generation_status"]
          user_id: string
        }
        Update: {
          accepted_edited_count?: number
          accepted_unedited_count?: number
          candidates_count?: number
          completion_tokens?: number | null
          created_at?: string
          duration_ms?: number | null
          error_code?: string | null
          finished_at?: string | null
          id?: string
          input_hash?: string
          input_text?: string
          model?: string
          prompt_tokens?: number | null
          quota_reservation_id?: string | null
          rejected_count?: number
          status?: Database["flashcards"]["Enums"]["generation_status"]
          user_id?: string
        }
        Relationships: []
      }
      candidates: {
        Row: {
          back: string
          created_at: string
          flashcard_id: string | null
          front: string
          id: string
          position: number
          prompt: string | null
          reviewed_at: string | null
          session_id: string
          status: Database["flashcards"]["Enums"]["candidate_status"]
          user_id: string
        }
        Insert: {
          back: string
          created_at?: string
          flashcard_id?: string | null
          front: string
          id?: string
          position: number
          prompt?: string | null
          reviewed_at?: string | null
          session_id: string
          status?: Database["flashcards"]["Enums"]["candidate_status"]
          user_id: string
        }
        Update: {
          back?: string
          created_at?: string
          flashcard_id?: string | null
          front?: string
          id?: string
          position?: number
          prompt?: string | null
          reviewed_at?: string | null
          session_id?: string
          status?: Database["flashcards"]["Enums"]["candidate_status"]
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "candidates_flashcard_id_fkey"
            columns: ["flashcard_id"]
            referencedRelation: "flashcards"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "candidates_session_id_fkey"
            columns: ["session_id"]
            referencedRelation: "ai_generation_sessions"
            referencedColumns: ["id"]
          },
        ]
      }
      flashcards: {
        Row: {
          back: string
          candidate_id: string | null
          created_at: string
          deleted_at: string | null
          front: string
          id: string
          search_vector: unknown
          session_id: string | null
          source: Database["flashcards"]["Enums"]["card_source"]
          updated_at: string
          user_id: string
        }
        Insert: {
          back: string
          candidate_id?: string | null
          created_at?: string
          deleted_at?: string | null
          front: string
          id?: string
          search_vector?: never
          session_id?: string | null
          source: Database["flashcards"]["Enums"]["card_source"]
          updated_at?: string
          user_id: string
        }
        Update: {
          back?: string
          candidate_id?: string | null
          created_at?: string
          deleted_at?: string | null
          front?: string
          id?: string
          search_vector?: never
          session_id?: string | null
          source?: Database["flashcards"]["Enums"]["card_source"]
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "flashcards_candidate_fk"
            columns: ["candidate_id"]
            referencedRelation: "candidates"
            referencedColumns: ["id"]
          },
          {
            foreignKeyName: "flashcards_session_id_fkey"
            columns: ["session_id"]
            referencedRelation: "ai_generation_sessions"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      begin_ai_session: {
        Args: { input_text: string; model: string; user_id: string }
        Returns: Json
      }
      create_flashcards: { Args: { items: Json }; Returns: Json }
      delete_flashcards: { Args: { ids: Json }; Returns: Json }
      finish_ai_session: {
        Args: { outcome: Json; session_id: string; user_id: string }
        Returns: Json
      }
      get_ai_session: { Args: { session_id: string }; Returns: Json }
      list_ai_sessions: {
        Args: { page_offset?: number; page_size?: number }
        Returns: Json
      }
      list_flashcards: {
        Args: {
          page_offset?: number
          page_size?: number
          search?: string
          sort?: string
          sort_order?: string
        }
        Returns: Json
      }
      review_candidates: {
        Args: { actions: Json; session_id: string }
        Returns: Json
      }
      update_flashcard: {
        Args: { back?: string; front?: string; id: string }
        Returns: Json
      }
    }
    Enums: {
      candidate_status: "pending" | "accepted" | "edited" | "rejected"
      card_source: "manual" | "ai" | "ai_edited"
      generation_status: "pending" | "completed" | "failed"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
  pullups: {
    Tables: {
      generation_error_logs: {
        Row: {
          created_at: string
          error_code: string
          error_message: string | null
          generation_id: string
          id: string
          provider_status: number | null
          user_id: string
        }
        Insert: {
          created_at?: string
          error_code: string
          error_message?: string | null
          generation_id: string
          id?: string
          provider_status?: number | null
          user_id: string
        }
        Update: {
          created_at?: string
          error_code?: string
          error_message?: string | null
          generation_id?: string
          id?: string
          provider_status?: number | null
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "generation_error_logs_generation_id_fkey"
            columns: ["generation_id"]
            referencedRelation: "generations"
            referencedColumns: ["id"]
          },
        ]
      }
      generations: {
        Row: {
          created_at: string
          duration_ms: number | null
          finished_at: string | null
          id: string
          model: string
          quota_reservation_id: string | null
          session_id: string | null
          start_now: boolean
          status: Database["pullups"]["Enums"]["generation_status"]
          user_id: string
        }
        Insert: {
          created_at?: string
          duration_ms?: number | null
          finished_at?: string | null
          id?: string
          model: string
          quota_reservation_id?: string | null
          session_id?: string | null
          start_now?: boolean
          status?: Database["pullups"]["Enums"]["generation_status"]
          user_id: string
        }
        Update: {
          created_at?: string
          duration_ms?: number | null
          finished_at?: string | null
          id?: string
          model?: string
          quota_reservation_id?: string | null
          session_id?: string | null
          start_now?: boolean
          status?: Database["pullups"]["Enums"]["generation_status"]
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "generations_session_id_fkey"
            columns: ["session_id"]
            referencedRelation: "sessions"
            referencedColumns: ["id"]
          },
        ]
      }
      sessions: {
        Row: {
          ai_comment: string | null
          created_at: string
          finished_at: string | null
          id: string
          is_ai_generated: boolean
          is_modified: boolean
          notes: string | null
          rpe: number | null
          session_date: string
          sets: number[]
          started_at: string | null
          status: Database["pullups"]["Enums"]["session_status"]
          total_reps: number | null
          updated_at: string
          user_id: string
          version: number
        }
        Insert: {
          ai_comment?: string | null
          created_at?: string
          finished_at?: string | null
          id?: string
          is_ai_generated?: boolean
          is_modified?: boolean
          notes?: string | null
          rpe?: number | null
          session_date: string
          sets: number[]
          started_at?: string | null
          status?: Database["pullups"]["Enums"]["session_status"]
          total_reps?: never
          updated_at?: string
          user_id: string
          version?: number
        }
        Update: {
          ai_comment?: string | null
          created_at?: string
          finished_at?: string | null
          id?: string
          is_ai_generated?: boolean
          is_modified?: boolean
          notes?: string | null
          rpe?: number | null
          session_date?: string
          sets?: number[]
          started_at?: string | null
          status?: Database["pullups"]["Enums"]["session_status"]
          total_reps?: never
          updated_at?: string
          user_id?: string
          version?: number
        }
        Relationships: []
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      ai_quota: { Args: Record<PropertyKey, never>; Returns: Json }
      begin_generation: {
        Args: {
          max_pullups?: number
          model: string
          start_now?: boolean
          user_id: string
        }
        Returns: Json
      }
      complete_session: {
        Args: { rpe?: number; session_id: string; sets?: Json }
        Returns: Json
      }
      create_session: {
        Args: {
          notes?: string
          rpe?: number
          session_date: string
          sets: Json
          status?: string
        }
        Returns: Json
      }
      delete_session: { Args: { session_id: string }; Returns: undefined }
      fail_session: {
        Args: { reason?: string; session_id: string }
        Returns: Json
      }
      finish_generation: {
        Args: { generation_id: string; outcome: Json; user_id: string }
        Returns: Json
      }
      get_session: { Args: { session_id: string }; Returns: Json }
      list_sessions: {
        Args: {
          date_from?: string
          date_to?: string
          page_offset?: number
          page_size?: number
          sort?: string
          sort_order?: string
          status?: string[]
        }
        Returns: Json
      }
      start_session: { Args: { session_id: string }; Returns: Json }
      update_session: {
        Args: {
          if_match?: string
          notes?: string
          rpe?: number
          session_date?: string
          session_id: string
          sets?: Json
        }
        Returns: Json
      }
    }
    Enums: {
      generation_status: "pending" | "success" | "timeout" | "error"
      session_status: "planned" | "in_progress" | "completed" | "failed"
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
  recipes: {
    Tables: {
      [_ in never]: never
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      begin_draft: { Args: { user_id: string }; Returns: Json }
      finish_draft: {
        Args: { draft_id: string; outcome: Json; user_id: string }
        Returns: Json
      }
    }
    Enums: {
      [_ in never]: never
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
  workouts: {
    Tables: {
      plans: {
        Row: {
          archived: boolean
          created_at: string
          description: string | null
          has_sessions: boolean
          id: string
          name: string
          plan: NonNullable<Json>
          updated_at: string
          user_id: string
        }
        Insert: {
          archived?: boolean
          created_at?: string
          description?: string | null
          has_sessions?: boolean
          id?: string
          name: string
          plan?: NonNullable<Json>
          updated_at?: string
          user_id?: string
        }
        Update: {
          archived?: boolean
          created_at?: string
          description?: string | null
          has_sessions?: boolean
          id?: string
          name?: string
          plan?: NonNullable<Json>
          updated_at?: string
          user_id?: string
        }
        Relationships: []
      }
      training_sessions: {
        Row: {
          created_at: string
          date: string
          ended_at: string | null
          id: string
          plan_id: string | null
          session: NonNullable<Json>
          started_at: string
          updated_at: string
          user_id: string
        }
        Insert: {
          created_at?: string
          date: string
          ended_at?: string | null
          id?: string
          plan_id?: string | null
          session: NonNullable<Json>
          started_at?: string
          updated_at?: string
          user_id: string
        }
        Update: {
          created_at?: string
          date?: string
          ended_at?: string | null
          id?: string
          plan_id?: string | null
          session?: NonNullable<Json>
          started_at?: string
          updated_at?: string
          user_id?: string
        }
        Relationships: [
          {
            foreignKeyName: "training_sessions_plan_id_fkey"
            columns: ["plan_id"]
            referencedRelation: "plans"
            referencedColumns: ["id"]
          },
        ]
      }
    }
    Views: {
      [_ in never]: never
    }
    Functions: {
      complete_session: { Args: { id: string; session?: Json }; Returns: Json }
      create_plan: {
        Args: { description?: string; name: string; plan?: Json }
        Returns: Json
      }
      delete_plan: { Args: { id: string }; Returns: undefined }
      get_plan: { Args: { id: string }; Returns: Json }
      get_session: { Args: { id: string }; Returns: Json }
      list_plans: {
        Args: {
          include_archived?: boolean
          page_offset?: number
          page_size?: number
        }
        Returns: Json
      }
      list_sessions: {
        Args: {
          completed?: boolean
          date_from?: string
          date_to?: string
          page_offset?: number
          page_size?: number
          plan_id?: string
          sort?: string
          sort_order?: string
        }
        Returns: Json
      }
      start_session: {
        Args: { date: string; plan_id: string; session: Json }
        Returns: Json
      }
      update_plan: {
        Args: {
          archived?: boolean
          description?: string
          id: string
          name?: string
          plan?: Json
        }
        Returns: Json
      }
      update_session: { Args: { id: string; session: Json }; Returns: Json }
    }
    Enums: {
      [_ in never]: never
    }
    CompositeTypes: {
      [_ in never]: never
    }
  }
}

type DatabaseWithoutInternals = Omit<Database, "__InternalSupabase">

type DefaultSchema = DatabaseWithoutInternals[Extract<
  keyof Database,
  "pullups"
>]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] &
        DefaultSchema["Views"])
    ? (DefaultSchema["Tables"] &
        DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
        Row: infer R
      }
      ? R
      : never
    : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Insert: infer I
      }
      ? I
      : never
    : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends (DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never) = never,
> = DefaultSchemaTableNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
    ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
        Update: infer U
      }
      ? U
      : never
    : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends (DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never) = never,
> = DefaultSchemaEnumNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
    ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
    : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends (PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never) = never,
> = PublicCompositeTypeNameOrOptions extends {
  schema: keyof DatabaseWithoutInternals
}
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
    ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
    : never

export const Constants = {
  flashcards: {
    Enums: {
      candidate_status: ["pending", "accepted", "edited", "rejected"],
      card_source: ["manual", "ai", "ai_edited"],
      generation_status: ["pending", "completed", "failed"],
    },
  },
  pullups: {
    Enums: {
      generation_status: ["pending", "success", "timeout", "error"],
      session_status: ["planned", "in_progress", "completed", "failed"],
    },
  },
  recipes: {
    Enums: {},
  },
  workouts: {
    Enums: {},
  },
} as const
